"""``to_dict`` / ``from_dict``: every model as WeCom's JSON, and back.

``to_dict()`` gives the wire shape: WeCom's field names, flags as 0/1, enumerations as numbers,
nested parts (attrs classes or msgspec Structs alike) as dicts, sequences as lists — ready for
``json.dumps``. A response model (Schedule, Calendar…) gives every field, as WeCom answers it;
a request model (``*Request``, ``*Input``) gives the body that would be sent (fields not set are
left out, attendees as user IDs only). The rules are the converter's
(:mod:`wecom_async._converter`), the same ones the command line writes JSON with.

``from_dict()`` reads that shape back through msgspec, the engine that decodes WeCom's answers,
with its rules: 0/1 flags read as bools, unknown keys ignored, missing fields take their
defaults, an enumeration value WeCom adds later is kept. A value of the wrong type is a
:class:`~wecom_async.ValidationError` naming its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from ..errors import Problem, ValidationError
from ._validation import describe

if TYPE_CHECKING:
    import cattrs

__all__ = ["WireDict"]

_M = TypeVar("_M", bound="WireDict")

_converters: dict[bool, cattrs.Converter] = {}


def _converter_for(request: bool) -> cattrs.Converter:
    # _converter imports the models: it is imported on first use, not at import time.
    converter = _converters.get(request)
    if converter is None:
        from .. import _converter

        converter = _converters[request] = _converter.converter if request else _converter.wire
    return converter


class WireDict:
    """``to_dict()`` and ``from_dict()`` for a model (a base class with no fields or slots)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """This model as WeCom's JSON: a new dict of plain values (``json.dumps`` writes it)."""
        name = type(self).__name__
        converter = _converter_for(name.endswith(("Request", "Input")))
        data: dict[str, Any] = converter.unstructure(self)
        return data

    @classmethod
    def from_dict(cls: type[_M], data: Mapping[str, Any]) -> _M:
        """The model a :meth:`to_dict` dict (or WeCom's own JSON of it) describes.

        Raises :class:`~wecom_async.ValidationError` naming the path of each value of the wrong
        type (``attendees[2].userid``); unknown keys are ignored, missing fields take their
        defaults.
        """
        model = f"{cls.__name__} dict"
        if not isinstance(data, Mapping):
            problem = Problem("$", f"must be a dict, got {describe(data)}")
            raise ValidationError([problem], model=model)
        try:
            result: _M = msgspec.convert(data, cls, strict=False)
        except msgspec.ValidationError as exc:
            message, _, path = str(exc).partition(" - at `")
            path = path.rstrip("`").removeprefix("$").removeprefix(".") or "$"
            raise ValidationError([Problem(path, message)], model=model) from exc
        return result
