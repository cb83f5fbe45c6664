"""Studies: ask / tell, optimize, and their creation and loading by name."""

from metahpo.study._create import create_study, delete_study, list_studies, load_study
from metahpo.study._handle import TrialHandle
from metahpo.study._knowledge import study_knowledge
from metahpo.study._labels import (
    knowledge_update_label,
    optimizer_label,
    space_difference,
    study_state,
)
from metahpo.study._optimizer_choice import auto_optimizer, knowledge_order, ready_start
from metahpo.study._state import OWN_TRIAL_ATTRS, public_user_attrs
from metahpo.study._study import Study

__all__ = [
    "OWN_TRIAL_ATTRS",
    "Study",
    "TrialHandle",
    "auto_optimizer",
    "create_study",
    "delete_study",
    "knowledge_order",
    "knowledge_update_label",
    "list_studies",
    "load_study",
    "optimizer_label",
    "public_user_attrs",
    "ready_start",
    "space_difference",
    "study_knowledge",
    "study_state",
]
