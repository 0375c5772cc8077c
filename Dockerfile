# policybot: the Slack bot (and CLI) in a container.
#   build:  docker build -t policybot .
#   run:    docker run --rm -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN -v policybot-data:/data policybot
#   HTTP:   docker run --rm -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET -p 3000:3000 -v policybot-data:/data \
#             policybot policybot slack --http --host 0.0.0.0 --port 3000
# Tokens are only ever passed at run time; nothing secret is baked into the image.
ARG BASE=python:3.11-slim-bookworm

# --- stage 1: build the virtualenv -------------------------------------------------------------
FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The dependencies first, from pyproject.toml alone (with a stub package), so that a change to the code
# reuses this layer instead of downloading and installing every dependency again.
COPY pyproject.toml /src/
RUN pip install --upgrade pip setuptools wheel \
 && mkdir -p bot && touch bot/__init__.py && printf '# policybot\n' > README.md \
 && pip install . && pip uninstall -y policybot \
 && rm -rf bot README.md build *.egg-info
COPY . /src
# pyproject.toml names README.md as the long description; make sure it exists.
RUN test -f README.md || printf '# policybot\n' > README.md
RUN pip install --no-deps . && pip check && python -c "import bot.slack.app"

# --- stage 2: the runtime --------------------------------------------------------------------
FROM ${BASE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    POLICYBOT_DATA_DIR=/data \
    POLICYBOT_KNOWLEDGE_DIR=/app/knowledge \
    POLICYBOT_PROMPTS_DIR=/app/prompts \
    POLICYBOT_HEALTH_PORT=3000
RUN groupadd --system --gid 10001 policybot \
 && useradd --system --uid 10001 --gid policybot --home-dir /app --no-create-home --shell /usr/sbin/nologin policybot \
 && mkdir -p /data /app \
 && chown policybot:policybot /data
COPY --from=build /opt/venv /opt/venv
# Read-only inputs: the source manifest with bundled texts, and the prompt templates.
COPY --from=build /src/knowledge /app/knowledge
COPY --from=build /src/prompts /app/prompts
WORKDIR /app
USER policybot
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "-m", "bot.slack.healthcheck"]
CMD ["policybot", "slack"]
