"""The mapping engine: parse a flow's field mappings and rules, compile them once per
run, apply them to every record.

    mappings = parse_mappings(flow.mappings, source_fields=..., target_fields=...,
                              rules=flow.transformation_rules)
    mapper = compile_mappings(mappings, salt=tenant_salt)
    out = mapper.apply(record)   # MappedRecord(data | None, errors)
"""

from jobs.mapping.mapper import Mapper, compile_mappings, read_path
from jobs.mapping.model import RULES, FieldError, MappedRecord, Rule, RuleFailed
from jobs.mapping.parse import FieldMapping, parse_mappings

__all__ = ["RULES", "FieldError", "FieldMapping", "MappedRecord", "Mapper", "Rule",
           "RuleFailed", "compile_mappings", "parse_mappings", "read_path"]
