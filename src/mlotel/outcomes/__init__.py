"""Ground truth for predictions: prediction ids, ``record_outcome``, and model-quality metrics.

See docs/outcomes.md. Every monitored call has a prediction id; read it inside the call
with :func:`current_prediction_id` or around it with :func:`prediction_context`, keep it
with the prediction, and when the true label arrives (now or days later, in this
process or another) pass it to :func:`record_outcome`.
"""

from mlotel.outcomes._ids import PredictionHandle, current_prediction_id, prediction_context
from mlotel.outcomes._record import record_outcome

__all__ = ["PredictionHandle", "current_prediction_id", "prediction_context", "record_outcome"]
