"""Secrets: values a child receives that nothing else ever shows.

Wrap a token, a password or a URL with credentials in :class:`Secret` and
pass it where an argument or an environment value goes — positional
arguments, builder keyword values, ``ExecutionContext.env`` and ``env()``
overlays. The child receives the real value; everything cuprum renders shows
``***`` instead: the ``repr`` of commands, pipelines, results and contexts,
``CommandResult.argv``, ``ExecEvent.argv`` and ``ExecEvent.env``, log
records, span attributes, metric labels and exception messages.

Every one of those renderers goes through :func:`redact`, the one place that
turns secrets into what may be shown; the spawn path alone calls
:func:`reveal_argv` and :func:`reveal_env` to hand the engine the real values.

A :class:`Secret` is a :class:`str` whose text *is* the mask, so it fits every
``str`` parameter (``argv: tuple[str, ...]``, ``env: Mapping[str, str]``) and
any code that treats it as text — formatting, joining, JSON, a third-party
logger — sees ``***``, never the value. Only :meth:`Secret.reveal` gives the
value.

>>> token = Secret("hunter2")
>>> token
Secret('***')
>>> f"token={token}"
'token=***'
>>> token.reveal()
'hunter2'
>>> redact(("login", token))
('login', '***')
"""

from __future__ import annotations

import os
import types
import typing as t
from collections.abc import Iterable, Mapping

__all__ = ["MASK", "Secret", "redact"]

MASK: t.Final = "***"
"""What a secret looks like wherever it is shown."""


@t.final
class Secret(str):
    """A string the child receives but nothing else shows.

    ``repr(Secret("x"))`` is ``Secret('***')``; as text (``str()``,
    formatting, joining) it is ``***``. :meth:`reveal` returns the value. Two
    secrets are equal when their values are, and never equal to a plain
    string; a secret is immutable and hashable.

    Building a larger string from a secret (``f"--token={secret}"``,
    ``"--token=" + secret``) gives the mask, not the value: wrap the whole
    argument instead (``Secret(f"--token={value}")``), or pass the secret as
    a builder keyword (``make(GIT)(token=secret)`` gives ``--token=***``).

    Raises:
        TypeError: ``value`` is not a ``str``.
    """

    def __new__(cls, value: str) -> Secret:
        given: object = value  # checked at run time too: callers may be untyped
        if not isinstance(given, str):
            msg = f"Secret value must be a str, got {type(given).__name__}"
            raise TypeError(msg)
        if isinstance(value, Secret):
            return value
        return _make("", value)

    @classmethod
    def _after(cls, shown: str, secret: Secret) -> Secret:
        """``shown`` followed by ``secret``: the child receives both, only
        ``shown`` is displayed (``--token=***``)."""
        return _make(shown, secret.__dict__["_value"])

    def reveal(self) -> str:
        """The real value, as the child receives it."""
        parts = self.__dict__
        return str(parts["_shown"] + parts["_value"])

    def __repr__(self) -> str:
        return f"Secret({redact(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self.reveal() == other.reveal()
        if isinstance(other, str):
            return False
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((Secret, self.reveal()))

    def __setattr__(self, name: str, value: object) -> None:
        msg = f"Secret is immutable; cannot set {name!r}"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        msg = f"Secret is immutable; cannot delete {name!r}"
        raise AttributeError(msg)

    def __reduce__(self) -> tuple[object, ...]:
        # A pickled command must still run: keep the value (and the shown
        # prefix of a builder keyword).
        parts = self.__dict__
        return (_make, (parts["_shown"], parts["_value"]))


def _make(shown: str, value: str) -> Secret:
    """A secret whose text is ``shown`` + the mask and whose value is
    ``shown`` + ``value``."""
    secret = str.__new__(Secret, str(shown) + MASK)
    secret.__dict__.update(_shown=str(shown), _value=str(value))
    return secret


@t.overload
def redact(value: str) -> str: ...
@t.overload
def redact(value: tuple[str, ...]) -> tuple[str, ...]: ...
@t.overload
def redact(value: Mapping[str, str]) -> Mapping[str, str]: ...
@t.overload
def redact(value: None) -> None: ...
def redact(
    value: str | tuple[str, ...] | Mapping[str, str] | None,
) -> str | tuple[str, ...] | Mapping[str, str] | None:
    """``value`` as it may be shown: every :class:`Secret` becomes ``***``.

    A string gives a plain string; an argv tuple gives a tuple of plain
    strings; an environment mapping gives a read-only mapping (keys are never
    secret); ``None`` stays ``None``. Values without secrets come back
    unchanged (the same object for a tuple). Every renderer in cuprum —
    reprs, events, logs, adapters, exception messages — shows argv and
    environments through this function; use it in your own hooks too.

    >>> redact({"USER": "ann", "TOKEN": Secret("hunter2")})["TOKEN"]
    '***'
    """
    if value is None or type(value) is str:
        return value
    if isinstance(value, Secret):
        return str.__str__(value)
    if isinstance(value, tuple):
        if not any(isinstance(item, Secret) for item in value):
            return value
        return tuple(redact(item) for item in value)
    if isinstance(value, Mapping):
        return types.MappingProxyType({key: redact(item) for key, item in value.items()})
    return str(value)


def scrub(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` (a child's output) with every secret's value replaced by ``***``.

    Used where cuprum quotes what a child wrote in a message of its own (the
    stderr tail of :class:`~cuprum.ExitCodeError`): a child may echo a token
    it was given, and the message must not carry it further.
    """
    values = {secret.__dict__["_value"] for secret in secrets}
    for value in sorted(values, key=len, reverse=True):
        if value:
            text = text.replace(value, MASK)
    return text


def reveal_argv(argv: Iterable[str]) -> list[str]:
    """The argv the child receives: every secret replaced by its value.

    Raises:
        ValueError: a secret contains a NUL character (the message shows the
            argument redacted, so the value never reaches a log).
        UnicodeEncodeError: a secret cannot be encoded for the OS; the
            error's ``object`` is the mask, not the value.
    """
    revealed: list[str] = []
    for index, item in enumerate(argv):
        if isinstance(item, Secret):
            value = _encodable(item, f"argv[{index}]")
            if "\0" in value:
                msg = f"argv[{index}] {redact(item)!r} contains a NUL byte"
                raise ValueError(msg)
            revealed.append(value)
        else:
            revealed.append(item)
    return revealed


def reveal_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment the child receives: every secret replaced by its value.

    Raises:
        UnicodeEncodeError: a secret cannot be encoded for the OS; the
            error's ``object`` is the mask, not the value.
    """
    return {
        key: _encodable(value, f"environment variable {key!r}")
        if isinstance(value, Secret)
        else value
        for key, value in env.items()
    }


def _encodable(secret: Secret, where: str) -> str:
    """The secret's value, checked to encode for the OS as the spawn will
    (``os.fsencode``): the standard error would carry the value in its
    ``object`` attribute, so it is raised again with the mask instead."""
    value = secret.reveal()
    try:
        os.fsencode(value)
    except UnicodeEncodeError as error:
        shown = redact(secret)
        reason = f"{error.reason} in {where} (a Secret)"
        raise UnicodeEncodeError(error.encoding, shown, 0, len(shown), reason) from None
    return value
