"""Flow files from YAML text and back, with errors that name the file, the field and the line.

The loader receives text, never paths, so it is the same for the CLI, the HTTP API and tests. A set of
files is checked as a whole: one bad file rejects them all, so nothing is half-imported.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from flows.inputs import MAX_DEPTH
from flows.schema import FlowDefinition, error_path, field_names_at

_TOP_LEVEL_HINT = "a flow file is a mapping of fields such as key, name, trigger and question"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file. `line` is 1-based, or None when the problem has no place in the file."""

    source: str
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class FlowError(Exception):
    """Every problem found, so an author can fix a file in one pass."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


class _FlowYamlLoader(yaml.SafeLoader):
    """YAML with only the implicit types a flow needs.

    YAML 1.1 reads `NO` (Norway) as false, `0123` as octal and `1:30` as ninety; in a `where`
    condition those silently change what is matched. Here only true/false are booleans, only plain
    decimals are numbers, and dates stay text.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """No aliases and no deep nesting: a flow needs neither, and a few lines of `*alias` can expand to
        billions of values (the "billion laughs") while deep nesting exhausts the stack."""
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in a flow file; "
                                              "write the value out", mark)
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_FlowYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:merge")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FlowYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_FlowYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_FlowYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:0|[1-9][0-9]*)\.[0-9]*(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


class _FlowYamlDumper(yaml.SafeDumper):
    """Writes flow files the way people write them: short lists inline, nested lists indented."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    inline = all(isinstance(item, str | int | float | bool) for item in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=inline)


_FlowYamlDumper.add_representer(list, _represent_list)


def load_flow(text: str, source: str = "<string>", channels: Collection[str] | None = None) -> FlowDefinition:
    """Parse and validate one flow file; FlowError lists every problem with its line.

    `channels` are the names a flow may use (the channel registry's); without them any well-formed name passes.
    """
    root = _compose(text, source)
    data = _construct(root, source)
    try:
        return FlowDefinition.model_validate(data, context={"channels": channels})
    except ValidationError as error:
        raise FlowError([_problem(detail, root, source) for detail in error.errors()]) from None


def load_flows(files: Mapping[str, str], channels: Collection[str] | None = None) -> list[FlowDefinition]:
    """Validate a set of files ({source: text}) as a whole: all of them, or FlowError with every problem."""
    flows: list[FlowDefinition] = []
    problems: list[Problem] = []
    first_source: dict[str, str] = {}
    for source, text in files.items():
        try:
            flow = load_flow(text, source, channels)
        except FlowError as error:
            problems.extend(error.problems)
            continue
        if flow.key in first_source:
            line = _line_of(_compose(text, source), ("key",))
            message = f"{flow.key!r} is also the key of {first_source[flow.key]}; each flow needs its own key"
            problems.append(Problem(source, "key", line, message))
            continue
        first_source[flow.key] = source
        flows.append(flow)
    if problems:
        raise FlowError(problems)
    return flows


def dump_flow(defn: FlowDefinition) -> str:
    """YAML in the documented field order, leaving out what is unset, so `load_flow` reads it back equal."""
    data = defn.model_dump(mode="json", exclude_none=True)
    for empty in ("thanks", "routing"):
        if not data[empty]:
            del data[empty]
    if not data["comment"]["prompt"]:
        del data["comment"]["prompt"]
    return yaml.dump(
        data, Dumper=_FlowYamlDumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000
    )


def _compose(text: str, source: str) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=_FlowYamlLoader)
    except yaml.YAMLError as error:
        raise FlowError([_yaml_problem(error, source)]) from None
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else 1
        raise FlowError([Problem(source, "", line, f"not a flow: {_TOP_LEVEL_HINT}")])
    duplicates = list(_duplicate_keys(root, ()))
    if duplicates:
        raise FlowError([Problem(source, path, line, "appears twice; keep one") for path, line in duplicates])
    return root


def _construct(root: yaml.Node, source: str) -> dict[str, Any]:
    loader = _FlowYamlLoader("")
    try:
        return loader.construct_document(root)
    except yaml.YAMLError as error:
        raise FlowError([_yaml_problem(error, source)]) from None
    finally:
        loader.dispose()


def _yaml_problem(error: yaml.YAMLError, source: str) -> Problem:
    mark = getattr(error, "problem_mark", None)
    context_mark = getattr(error, "context_mark", None)
    line = (mark or context_mark).line + 1 if (mark or context_mark) is not None else None
    reason = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None) or ""
    if "single document" in context:
        return Problem(source, "", line, "a flow file holds one flow; found a second document (---)")
    if context and context_mark is not None and context_mark.line + 1 != line:
        # An unclosed quote or bracket is reported where the file ends; the author needs where it began.
        context = f"{context} started on line {context_mark.line + 1}"
    message = f"YAML syntax error: {reason}" + (f" ({context})" if context else "")
    return Problem(source, "", line, message)


def _duplicate_keys(node: yaml.Node, path: tuple[str, ...]) -> Iterator[tuple[str, int]]:
    """PyYAML keeps the last of two equal keys without a word; an author almost never means that."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            here = (*path, name)
            if name in seen:
                yield ".".join(here), key.start_mark.line + 1
            seen.add(name)
            yield from _duplicate_keys(value, here)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, str(index)))


def _problem(detail: ErrorDetails, root: yaml.Node, source: str) -> Problem:
    path = error_path(detail)
    return Problem(source, ".".join(str(part) for part in path), _line_of(root, path), _message(detail, path))


def _line_of(root: yaml.Node, path: tuple[str | int, ...]) -> int:
    """The line of the deepest part of `path` present in the file; a missing field points at its parent."""
    node, line = root, root.start_mark.line + 1
    for part in path:
        found = _child(node, part)
        if found is None:
            break
        key_node, node = found
        line = key_node.start_mark.line + 1
    return line


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(node that names the child, the child): the key for a mapping entry, the item itself in a list."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == str(part):
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], node.value[part]
    return None


def _message(detail: ErrorDetails, path: tuple[str | int, ...]) -> str:
    kind, ctx = detail["type"], detail.get("ctx", {})
    if kind == "extra_forbidden":
        return _unknown_field(path)
    if kind in ("enum", "literal_error"):
        return "must be one of " + ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
    if kind == "value_error":
        return str(ctx["error"])
    fixed = {
        "missing": "is required",
        "string_type": "must be text",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "int_type": "must be a whole number",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "list_type": "must be a list",
        "dict_type": "must be a mapping of names to values",
        "model_type": "must be a mapping of fields",
        "model_attributes_type": "must be a mapping of fields",
        "too_short": "must not be empty",
        "string_too_short": "must not be empty",
    }
    if kind in fixed:
        return fixed[kind]
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    message = detail["msg"]
    return message[:1].lower() + message[1:]


def _unknown_field(path: tuple[str | int, ...]) -> str:
    known = field_names_at(path[:-1])
    close = difflib.get_close_matches(str(path[-1]), known, n=1)
    if close:
        return f"unknown field; did you mean {close[0]}?"
    if known:
        return "unknown field; this section has " + ", ".join(known)
    return "unknown field"
