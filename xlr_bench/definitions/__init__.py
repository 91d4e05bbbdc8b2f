"""Declarative definitions: a task or a model is one TOML file (``tasks/``, ``models/``), read here
into typed records. The first stage of the flow: it says *what* exists, never loads data or weights."""

from xlr_bench.definitions.models import ModelDefinition, find_definition, load_model_definitions
from xlr_bench.definitions.tasks import TaskDefinition, load_definition_file, load_definitions

__all__ = [
    "ModelDefinition", "TaskDefinition", "find_definition", "load_definition_file", "load_definitions",
    "load_model_definitions",
]
