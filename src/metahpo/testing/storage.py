"""The conformance suite every :class:`~metahpo.storage.Storage` backend must pass.

Each ``check_*`` function takes a fresh, empty storage and raises ``AssertionError``
(or the unexpected exception) when the backend breaks the protocol's rules, which
:class:`~metahpo.storage.InMemoryStorage` defines. Run them all with
:func:`check_storage`, or one test per check with pytest::

    import pytest
    from metahpo.testing.storage import STORAGE_CHECKS

    @pytest.mark.parametrize("check", STORAGE_CHECKS, ids=lambda check: check.__name__)
    def test_my_storage(check):
        check(MyStorage())

The heartbeat check waits out the storage's grace period; give it a storage whose
``grace_period`` is at most a few seconds, or it checks only that fresh trials stay
RUNNING.

Example:
    >>> from metahpo.storage import InMemoryStorage
    >>> from metahpo.testing.storage import check_storage
    >>> check_storage(InMemoryStorage)
"""

from __future__ import annotations

from collections.abc import Callable

from metahpo.storage import Storage
from metahpo.testing._helpers import make_study, snapshot
from metahpo.testing._storage_bad_input import check_bad_input_leaves_storage_unchanged
from metahpo.testing._storage_fingerprint import check_fingerprint, check_study_fingerprint
from metahpo.testing._storage_heartbeats import MAX_WAITED_GRACE, check_heartbeats_and_stale_trials
from metahpo.testing._storage_meta import (
    check_meta_model_bad_input,
    check_meta_model_round_trip,
    check_meta_model_versions,
    check_meta_model_versions_across_threads,
    meta_snapshot,
)
from metahpo.testing._storage_queue import (
    check_enqueued_configs,
    check_enqueued_configs_across_threads,
)
from metahpo.testing._storage_studies import (
    check_create_get_list_studies,
    check_delete_study_removes_its_trials,
    check_duplicate_study_name,
    check_missing_studies_and_trials,
    check_user_attrs_merge,
)
from metahpo.testing._storage_trials import (
    check_any_error_text_is_stored,
    check_configs_keep_the_space_order,
    check_finish_trial,
    check_intermediate_reports,
    check_min_number,
    check_promotions_are_unique,
    check_reserve_then_set_config,
    check_states_filter,
    check_trial_numbering,
    check_trial_numbering_across_threads,
)

__all__ = [
    "MAX_WAITED_GRACE",
    "STORAGE_CHECKS",
    "check_any_error_text_is_stored",
    "check_bad_input_leaves_storage_unchanged",
    "check_configs_keep_the_space_order",
    "check_create_get_list_studies",
    "check_delete_study_removes_its_trials",
    "check_duplicate_study_name",
    "check_enqueued_configs",
    "check_enqueued_configs_across_threads",
    "check_fingerprint",
    "check_finish_trial",
    "check_heartbeats_and_stale_trials",
    "check_intermediate_reports",
    "check_meta_model_bad_input",
    "check_meta_model_round_trip",
    "check_meta_model_versions",
    "check_meta_model_versions_across_threads",
    "check_min_number",
    "check_missing_studies_and_trials",
    "check_promotions_are_unique",
    "check_reserve_then_set_config",
    "check_states_filter",
    "check_storage",
    "check_study_fingerprint",
    "check_trial_numbering",
    "check_trial_numbering_across_threads",
    "check_user_attrs_merge",
    "make_study",
    "meta_snapshot",
    "snapshot",
]


STORAGE_CHECKS: tuple[Callable[[Storage], None], ...] = (
    check_create_get_list_studies,
    check_duplicate_study_name,
    check_missing_studies_and_trials,
    check_delete_study_removes_its_trials,
    check_trial_numbering,
    check_trial_numbering_across_threads,
    check_reserve_then_set_config,
    check_configs_keep_the_space_order,
    check_finish_trial,
    check_any_error_text_is_stored,
    check_intermediate_reports,
    check_user_attrs_merge,
    check_promotions_are_unique,
    check_enqueued_configs,
    check_enqueued_configs_across_threads,
    check_states_filter,
    check_min_number,
    check_heartbeats_and_stale_trials,
    check_bad_input_leaves_storage_unchanged,
    check_fingerprint,
    check_study_fingerprint,
    check_meta_model_round_trip,
    check_meta_model_versions,
    check_meta_model_versions_across_threads,
    check_meta_model_bad_input,
)


def check_storage(make_storage: Callable[[], Storage]) -> None:
    """Run every check of :data:`STORAGE_CHECKS` on a fresh storage from ``make_storage``."""
    for check in STORAGE_CHECKS:
        storage = make_storage()
        try:
            check(storage)
        finally:
            storage.close()
