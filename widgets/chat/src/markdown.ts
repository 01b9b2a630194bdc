// The widget's Markdown as DOM: the shared renderer (widgets/shared/markdown.ts) in a fragment.
import { markdownHtml } from "../../shared/markdown";

/** `text` as Markdown, in a fragment ready to append. */
export function markdown(text: string): DocumentFragment {
  const template = document.createElement("template");
  template.innerHTML = markdownHtml(text);
  return template.content;
}
