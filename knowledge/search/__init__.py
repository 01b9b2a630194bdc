"""Search behind one interface (`Index`): the embedded BM25 index and Meilisearch."""

from kefu.knowledge.search.base import Index, SearchDocument, SearchFilters, SearchHit

__all__ = ["Index", "SearchDocument", "SearchFilters", "SearchHit"]
