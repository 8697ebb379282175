"""Section: the base of every settings section; errors name the variables, never a secret."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import AliasChoices, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PREFIX = "C360_"


# One ConfigError for settings and tenant configuration files (core.rules_config,
# infra.reload): callers catch one type whatever was misconfigured.
from core.errors import ConfigError as ConfigError  # noqa: E402, PLC0414


def env_name(field_name: str, field: FieldInfo, prefix: str = PREFIX) -> str:
    """The variable a field is read from: its C360_* alias, else prefix + NAME (a short
    alias such as "token" under a per-vendor prefix gives C360_CRM_ZOHO_TOKEN)."""
    alias = field.validation_alias
    choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
    names = [c for c in choices if isinstance(c, str)]
    full = [c for c in names if c.startswith(PREFIX)]
    if full:
        return full[0]
    return prefix + (names[0] if names else field_name).upper()


class EnvMapping(PydanticBaseSettingsSource):
    """A settings source over one mapping (os.environ, or a test's dict): a variable set to
    an empty or blank string counts as unset; values are passed on stripped, as strings."""

    def __init__(
        self, settings_cls: type[BaseSettings], environ: Mapping[str, str], prefix: str = PREFIX
    ) -> None:
        super().__init__(settings_cls)
        self._environ = environ
        self._prefix = prefix

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """(stripped value or None, field name, not complex)."""
        raw = self._environ.get(env_name(field_name, field, self._prefix), "").strip()
        return (raw or None), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class Section(BaseSettings):
    """One frozen group of C360_* settings. `from_env(env)` is the only reader of the
    environment (tests pass a dict); constructing a section directly takes values only."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        frozen=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        validate_default=True,
    )
    # The error type and the message title of this section's configuration problems.
    config_error: ClassVar[type[ValueError]] = ConfigError
    error_title: ClassVar[str] = "invalid configuration: "

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments only: reading the environment is `from_env`'s job."""
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """Parse and validate the section's variables; raises `config_error` listing every
        problem by variable name (never quoting a secret)."""
        return cls.load(os.environ if env is None else env)

    @classmethod
    def load(cls, env: Mapping[str, str], prefix: str = PREFIX, **given: Any) -> Self:
        """`from_env` over an explicit mapping and variable prefix; `given` values are not
        read from the mapping (e.g. which CRM a per-vendor section is for)."""
        values = {**EnvMapping(cls, env, prefix)(), **given}
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = describe(cls, exc, prefix)
            raise cls.config_error(cls.error_title + "; ".join(problems)) from None


def describe(cls: type[BaseSettings], exc: ValidationError, prefix: str = PREFIX) -> list[str]:
    """One line per problem, each naming its variable; inputs of hidden (secret) fields are
    never quoted."""
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        field = cls.model_fields.get(str(loc[0])) if loc else None
        message = str(error["msg"]).removeprefix("Value error, ")
        if field is None:
            problems.append(message)
            continue
        name = env_name(str(loc[0]), field, prefix)
        if error["type"] == "value_error":  # our own validators' wording ("must be ...")
            problems.append(f"{name} {message}")
        elif field.repr and isinstance(error.get("input"), str):
            problems.append(f"{name}: {message}, got {error['input']!r}")
        else:
            problems.append(f"{name}: {message}")
    return problems
