"""A guarded XML reader for WeCom's callback bodies (flat ``<xml><Field>text</Field>…</xml>``).

Why the standard library's expat and not defusedxml: XML entities can only be declared inside a
document type declaration. Expat calls ``StartDoctypeDeclHandler`` when it meets ``<!DOCTYPE``,
before it reads the internal subset, and our handler raises there, which stops the parse. So no
entity is ever declared: the billion-laughs and quadratic-blowup attacks have nothing to expand,
and no external entity or DTD can be fetched (we also refuse entity declarations, external
entity references and parameter entities in case a handler were ever bypassed). Without a DTD
only the five predefined entities and character references exist, and expat rejects any other
``&name;`` as an undefined entity. Size and depth are capped too. That is what defusedxml does
for ``forbid_dtd=True``; doing it here saves a dependency and a tree we would throw away.
"""

from __future__ import annotations

from typing import NoReturn
from xml.parsers import expat

from ..errors import CallbackPayloadError

__all__ = ["MAX_BODY_BYTES", "cdata", "parse_fields"]

#: The largest callback body read (WeCom's callbacks are well under 2 KiB).
MAX_BODY_BYTES = 64 * 1024
#: The deepest element nesting accepted (WeCom's events nest two or three levels).
MAX_DEPTH = 16


def cdata(text: str) -> str:
    """``text`` as an XML CDATA section (split where it contains ``]]>``)."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _refuse_dtd(*_: object) -> NoReturn:
    raise CallbackPayloadError("XML with a DTD (<!DOCTYPE …>) is refused")


def _refuse_entity(*_: object) -> NoReturn:
    raise CallbackPayloadError("XML entity declarations are refused")


def parse_fields(data: bytes, *, max_bytes: int = MAX_BODY_BYTES) -> tuple[tuple[str, str], ...]:
    """The text of every leaf element under the root, as ``(path, text)`` in document order.

    ``path`` is the element's name for a child of the root, ``Parent/Child`` deeper down. Raises
    :class:`CallbackPayloadError` for anything but a well-formed document without DTD of at most
    ``max_bytes`` bytes and :data:`MAX_DEPTH` levels.
    """
    if len(data) > max_bytes:
        raise CallbackPayloadError(f"XML of {len(data)} bytes is over the {max_bytes}-byte limit")
    fields: list[tuple[str, str]] = []
    # One entry per open element: its name and the character data directly inside it, and
    # whether it has child elements (then it is not a leaf and its own text is layout).
    stack: list[tuple[str, list[str], list[bool]]] = []

    def start(name: str, _attributes: object) -> None:
        if len(stack) >= MAX_DEPTH:
            raise CallbackPayloadError(f"XML nested deeper than {MAX_DEPTH} levels")
        if stack:
            stack[-1][2][0] = True
        stack.append((name, [], [False]))

    def end(_name: str) -> None:
        name, text, has_children = stack.pop()
        if stack and not has_children[0]:
            path = "/".join([*(entry[0] for entry in stack[1:]), name])
            fields.append((path, "".join(text)))

    def characters(text: str) -> None:
        if stack:
            stack[-1][1].append(text)

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise CallbackPayloadError(f"XML not well-formed: {exc}") from None
    except (ValueError, LookupError) as exc:
        # pyexpat refuses a declared multi-byte encoding (GBK…) with ValueError and an unknown
        # one with LookupError: before the signature is checked, so anyone could send them.
        raise CallbackPayloadError(f"XML in an unsupported encoding: {exc}") from None
    return tuple(fields)
