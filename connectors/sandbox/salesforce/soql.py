"""The SOQL subset the Salesforce simulator understands, with Salesforce-shaped errors.

Grammar::

    SELECT f1, f2 | COUNT() FROM Obj
      [WHERE cond (AND cond)*]  cond := SystemModstamp|LastModifiedDate op <dateTime>
                                       | IsDeleted = true|false
      [ORDER BY SystemModstamp|LastModifiedDate [ASC] [NULLS FIRST|LAST]]
      [LIMIT n]

Anything else that real SOQL accepts (OR, relationship paths, date literals
such as ``YESTERDAY``, other filter fields, DESC) is refused with
``MALFORMED_QUERY`` and a message saying it is a sandbox limitation, so a
connector never silently gets unfiltered data. Error messages copy the real
layout: the query line, a caret, ``ERROR at Row:r:Column:c`` and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from connectors.sandbox.kit.wire import parse_iso
from connectors.sandbox.salesforce.data import no_such_column

MODSTAMPS = ("SystemModstamp", "LastModifiedDate")

_TOKEN = re.compile(
    r"\s*(?:(?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})|(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),:])|(?P<ident>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<bad>\S))"
)


class SoqlError(Exception):
    """A query Salesforce would reject: ``errorCode`` plus the full message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Bound:
    ts: float
    strict: bool


@dataclass
class Query:
    sobject: str
    fields: list[str]
    count_only: bool = False
    since: Bound | None = None
    until: Bound | None = None
    is_deleted: bool | None = None
    limit: int | None = None


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:  # only trailing whitespace left
            break
        kind = match.lastgroup
        out.append(_Tok(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return out


def _located(text: str, pos: int, reason: str) -> str:
    row = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start: None if line_end < 0 else line_end]
    col = pos - line_start
    return f"\n{line}\n{' ' * col}^\nERROR at Row:{row}:Column:{col + 1}\n{reason}"


class _Parser:
    def __init__(self, text: str, catalog: Mapping[str, Mapping[str, object]]) -> None:
        self.text = text
        self.catalog = catalog
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise SoqlError("MALFORMED_QUERY", _located(self.text, len(self.text),
                                                        "unexpected token: '<EOF>'"))
        self.i += 1
        return tok

    def unexpected(self, tok: _Tok) -> SoqlError:
        return SoqlError("MALFORMED_QUERY",
                         _located(self.text, tok.pos, f"unexpected token: '{tok.text}'"))

    def limitation(self, tok: _Tok, what: str) -> SoqlError:
        return SoqlError("MALFORMED_QUERY", _located(
            self.text, tok.pos, f"{what} is not supported by the Connectus sandbox"))

    def keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "ident" and tok.text.upper() in words

    def expect(self, word: str) -> _Tok:
        tok = self.take()
        if tok.kind != "ident" or tok.text.upper() != word:
            raise self.unexpected(tok)
        return tok

    def parse(self) -> Query:
        self.expect("SELECT")
        selected: list[_Tok] = []
        count_only = False
        if self.keyword("COUNT") and self._is_count():
            count_only = True
        else:
            selected.append(self._ident())
            while (tok := self.peek()) is not None and tok.text == ",":
                self.take()
                selected.append(self._ident())
        self.expect("FROM")
        obj_tok = self._ident()
        sobject = self._sobject(obj_tok)
        query = Query(sobject, [self._field(sobject, t) for t in selected], count_only)
        if len(set(query.fields)) != len(query.fields):
            dup = next(f for f in query.fields if query.fields.count(f) > 1)
            raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {dup}")
        if self.keyword("WHERE"):
            self.take()
            self._condition(query)
            while self.keyword("AND"):
                self.take()
                self._condition(query)
        if self.keyword("ORDER"):
            self._order_by(sobject)
        if self.keyword("LIMIT"):
            self.take()
            tok = self.take()
            if tok.kind != "num" or "." in tok.text:
                raise self.unexpected(tok)
            query.limit = int(tok.text)
        if (tok := self.peek()) is not None:
            if tok.kind == "ident" and tok.text.upper() in {"OR", "NOT", "OFFSET", "GROUP"}:
                raise self.limitation(tok, tok.text.upper())
            raise self.unexpected(tok)
        return query

    def _is_count(self) -> bool:
        rest = [t.text for t in self.toks[self.i + 1: self.i + 3]]
        if rest != ["(", ")"]:
            return False
        self.i += 3
        return True

    def _ident(self) -> _Tok:
        tok = self.take()
        if tok.kind != "ident":
            raise self.unexpected(tok)
        return tok

    def _sobject(self, tok: _Tok) -> str:
        for name in self.catalog:
            if name.lower() == tok.text.lower():
                return name
        raise SoqlError("INVALID_TYPE", _located(self.text, tok.pos, (
            f"sObject type '{tok.text}' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference your "
            "WSDL or the describe call for the appropriate names.")))

    def _field(self, sobject: str, tok: _Tok) -> str:
        if "." in tok.text:
            head = tok.text.split(".", 1)[0]
            raise SoqlError("INVALID_FIELD", _located(self.text, tok.pos, (
                f"Didn't understand relationship '{head}' in field path. If you are attempting "
                "to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. Please reference your WSDL or the describe call for the "
                "appropriate names.")))
        for name in self.catalog[sobject]:
            if name.lower() == tok.text.lower():
                return name
        raise SoqlError("INVALID_FIELD", _located(self.text, tok.pos,
                                                  no_such_column(tok.text, sobject)))

    def _condition(self, query: Query) -> None:
        if (tok := self.peek()) is not None and tok.text == "(":
            raise self.limitation(tok, "A parenthesised filter")
        field_tok = self._ident()
        name = self._field(query.sobject, field_tok)
        op = self.take()
        if op.kind != "op":
            raise self.unexpected(op)
        value = self.take()
        if name == "IsDeleted":
            if op.text != "=" or value.text.lower() not in {"true", "false"}:
                raise self.limitation(op, "This IsDeleted filter")
            query.is_deleted = value.text.lower() == "true"
            return
        if name not in MODSTAMPS:
            raise self.limitation(field_tok, f"Filtering on {name}")
        if value.kind != "dt":
            if value.kind == "ident" and value.text.upper() != "NULL":
                raise self.limitation(value, f"The date literal {value.text}")
            raise SoqlError("INVALID_FIELD", _located(self.text, value.pos, (
                f"value of filter criterion for field '{name}' must be of type dateTime and "
                "should not be enclosed in quotes")))
        ts = parse_iso(value.text)
        if op.text in (">", ">=", "="):
            query.since = _tighter(query.since, Bound(ts, op.text == ">"), lower=True)
        if op.text in ("<", "<=", "="):
            query.until = _tighter(query.until, Bound(ts, op.text == "<"), lower=False)
        if op.text in ("!=", "<>"):
            raise self.limitation(op, f"The operator {op.text}")

    def _order_by(self, sobject: str) -> None:
        self.take()
        self.expect("BY")
        tok = self._ident()
        if self._field(sobject, tok) not in MODSTAMPS:
            raise self.limitation(tok, f"ORDER BY {tok.text}")
        if self.keyword("DESC"):
            raise self.limitation(self.take(), "ORDER BY ... DESC")
        if self.keyword("ASC"):
            self.take()
        if self.keyword("NULLS"):
            self.take()
            if not self.keyword("FIRST", "LAST"):
                raise self.unexpected(self.take())
            self.take()


def _tighter(old: Bound | None, new: Bound, *, lower: bool) -> Bound:
    if old is None:
        return new
    if new.ts != old.ts:
        return new if (new.ts > old.ts) == lower else old
    return new if new.strict else old


def parse_soql(text: str, catalog: Mapping[str, Mapping[str, object]]) -> Query:
    """Parse ``text`` against ``catalog`` (object name -> field name -> spec); raise SoqlError."""
    if not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(text, catalog).parse()
