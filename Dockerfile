FROM node:20-bookworm-slim AS widgets
WORKDIR /src
COPY widgets widgets
COPY src/kefu src/kefu
RUN for w in widgets/chat widgets/console; do \
      if [ -f $w/package.json ]; then (cd $w && npm ci && npm run build); fi; done

FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY src src
COPY connectors connectors
COPY knowledge knowledge
COPY migrations migrations
COPY --from=widgets /src/src/kefu/static src/kefu/static
RUN pip install --no-cache-dir -e .
EXPOSE 8000
CMD ["kefu", "serve", "--migrate", "--host", "0.0.0.0"]
