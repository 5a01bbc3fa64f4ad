"""The outcome, payload and resource options of @monitor fail loudly at decoration time."""

from __future__ import annotations

import pytest

import mlotel
from mlotel.monitor import validate


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"track_outcomes": 1}, TypeError, "track_outcomes must be a bool"),
        ({"task": "ranking"}, ValueError, "task must be one of classification, regression"),
        ({"id_arg": ""}, TypeError, "id_arg must be a non-empty str"),
        ({"id_function": "request_id"}, TypeError, "id_function must be a callable"),
        ({"id_arg": "a", "id_function": lambda a, k: None}, ValueError, "id_arg or id_function, not both"),
        ({"outcome_cache_size": 0}, ValueError, r"outcome_cache_size must be an int in \[1, 10000000\]"),
        ({"outcome_ttl": 0}, ValueError, "outcome_ttl must be a number of seconds"),
        ({"outcome_ttl": float("inf")}, ValueError, "outcome_ttl"),
        ({"outcome_window": 2.5}, ValueError, "outcome_window must be an int"),
        ({"log_predictions": "yes"}, TypeError, "log_predictions must be a bool"),
        ({"log_payloads": 1.5}, ValueError, r"log_payloads must be a number in \[0, 1\]"),
        ({"log_payloads": True}, ValueError, "log_payloads"),
        ({"payload_fields": "amount"}, TypeError, "payload_fields must be a list of str"),
        ({"payload_exclude": [1]}, TypeError, "every item of payload_exclude must be a str"),
        ({"payload_redact": {}}, TypeError, "payload_redact must be a callable"),
        ({"payload_max_bytes": 10}, ValueError, r"payload_max_bytes must be an int in \[256, 1048576\]"),
        ({"cuda_memory": "auto"}, TypeError, "cuda_memory must be a bool or None"),
    ],
)
def test_bad_options_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        validate(**kwargs)
    with pytest.raises(error, match=match):
        mlotel.monitor(**kwargs)


def test_defaults_turn_everything_optional_off():
    options = validate()
    assert (options.track_outcomes, options.log_predictions, options.log_payloads) == (False, False, 0.0)
    assert (options.outcome_cache_size, options.outcome_ttl, options.outcome_window) == (10_000, 3600.0, 1000)
    assert options.payload_max_bytes == 8192 and options.cuda_memory is None


def test_unknown_option_lists_the_new_ones():
    with pytest.raises(TypeError, match="accepted: .*track_outcomes.*log_payloads"):
        validate(track_outcome=True)
