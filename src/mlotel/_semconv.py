"""Names of every span, metric and attribute mlotel emits (telemetry contract v1).

docs/semantic-conventions.md documents each one. Names follow the OpenTelemetry
naming rules (dotted namespaces, singular, UCUM units) and do not change without
a migration note.
"""

from __future__ import annotations

SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
SCOPE_NAME = "mlotel"

# Attributes
MODEL_NAME = "ml.model.name"
MODEL_VERSION = "ml.model.version"
MODEL_FRAMEWORK = "ml.model.framework"
MODEL_PARAMS_HASH = "ml.model.params.hash"
OPERATION_NAME = "ml.operation.name"
BATCH_SIZE = "ml.batch.size"
PREDICTION_ID = "ml.prediction.id"
FEATURE_NAME = "ml.feature.name"
FEATURE_CATEGORY = "ml.feature.category"
OUTPUT_NAME = "ml.output.name"
PREDICTION_CLASS = "ml.prediction.class"
ERROR_TYPE = "error.type"
FAULT_KIND = "mlotel.fault.kind"
SIGNAL = "mlotel.signal"  # traces, metrics, logs
DRIFT_METHOD = "ml.drift.method"
DRIFT_WINDOW = "ml.drift.window"
DRIFT_VALUE = "ml.drift.value"
DRIFT_THRESHOLD = "ml.drift.threshold"
DRIFT_REASON = "ml.drift.reason"
MULTIVARIATE_MODEL = "ml.multivariate.model"  # fingerprint of the reference's multivariate model
OUTCOME_CLASS = "ml.outcome.class"
OUTCOME_UNMATCHED_REASON = "ml.outcome.unmatched.reason"
PERFORMANCE_METRIC = "ml.performance.metric"  # accuracy, precision, recall, f1, roc_auc
PERFORMANCE_WINDOW = "ml.performance.window"  # interval, sliding
PAYLOAD_TRUNCATED_ATTR = "ml.payload.truncated"
REFERENCE_SOURCE = "ml.reference.source"  # training, served, mixed (docs/drift.md, Feedback loops)
HW_ID = "hw.id"
HW_NAME = "hw.name"
HW_MODEL = "hw.model"
HW_TYPE = "hw.type"
HW_VENDOR = "hw.vendor"
HW_DRIVER_VERSION = "hw.driver_version"
HW_GPU_TASK = "hw.gpu.task"
CPU_MODE = "cpu.mode"
OVERFLOW = "otel.metric.overflow"  # the SDK's own attribute for series past a cardinality limit

# Metrics
PREDICTION_DURATION = "ml.prediction.duration"
PREDICTION_BATCH_SIZE = "ml.prediction.batch.size"
PREDICTION_CPU_TIME = "ml.prediction.cpu.time"
FEATURE_VALUE = "ml.feature.value"
FEATURE_MISSING = "ml.feature.missing"
FEATURE_CATEGORY_COUNT = "ml.feature.category.count"
PREDICTION_VALUE = "ml.prediction.value"
PREDICTION_CLASS_COUNT = "ml.prediction.class.count"
FAULT_COUNT = "mlotel.fault.count"
EXPORT_DROPPED_COUNT = "mlotel.export.dropped.count"
FEATURE_DRIFT = "ml.feature.drift"
PREDICTION_DRIFT = "ml.prediction.drift"
DRIFT_ALERT_COUNT = "ml.drift.alert.count"
DRIFT_UNMATCHED = "ml.drift.feature.unmatched"
MULTIVARIATE_ERROR = "ml.multivariate.error"
MULTIVARIATE_DRIFT = "ml.multivariate.drift"
MULTIVARIATE_DRIFT_LOWER = "ml.multivariate.drift.lower"
MULTIVARIATE_DRIFT_UPPER = "ml.multivariate.drift.upper"
PREDICTION_GPU_MEMORY_PEAK = "ml.prediction.gpu.memory.peak"
OUTCOME_COUNT = "ml.outcome.count"
OUTCOME_ACCURACY = "ml.outcome.accuracy"
OUTCOME_ERROR = "ml.outcome.error"
OUTCOME_MAE = "ml.outcome.mae"
OUTCOME_RMSE = "ml.outcome.rmse"
OUTCOME_DELAY = "ml.outcome.delay"
OUTCOME_UNMATCHED = "ml.outcome.unmatched"
PERFORMANCE_ESTIMATED = "ml.performance.estimated"
PERFORMANCE_ESTIMATED_ERROR = "ml.performance.estimated_error"
PERFORMANCE_REALIZED = "ml.performance.realized"
PAYLOAD_TRUNCATED = "ml.payload.truncated"
REFERENCE_SERVED_RATIO = "ml.reference.served.ratio"
# Process and GPU metrics: OpenTelemetry semantic conventions (system/process-metrics, hardware/gpu).
PROCESS_CPU_TIME = "process.cpu.time"
PROCESS_CPU_UTILIZATION = "process.cpu.utilization"
PROCESS_MEMORY_USAGE = "process.memory.usage"
PROCESS_MEMORY_VIRTUAL = "process.memory.virtual"
PROCESS_THREAD_COUNT = "process.thread.count"
PROCESS_FILE_DESCRIPTOR_COUNT = "process.unix.file_descriptor.count"
HW_GPU_UTILIZATION = "hw.gpu.utilization"
HW_GPU_MEMORY_USAGE = "hw.gpu.memory.usage"
HW_GPU_MEMORY_LIMIT = "hw.gpu.memory.limit"
HW_GPU_MEMORY_UTILIZATION = "hw.gpu.memory.utilization"

# Log record event names (OTLP logs).
EVENT_PREDICTION = "ml.prediction"
EVENT_OUTCOME = "ml.outcome"

# Explicit-bucket advisory for ml.prediction.duration: 100 µs .. 60 s.
DURATION_BUCKETS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075,
    0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
)  # fmt: skip
# Rows per call: powers of two up to 1 Mi rows.
BATCH_SIZE_BUCKETS: tuple[float, ...] = tuple(float(2**i) for i in range(0, 21))
