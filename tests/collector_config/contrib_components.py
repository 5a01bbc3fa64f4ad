"""Components of the OpenTelemetry Collector Contrib distribution (``otelcol-contrib``).

Taken from ``distributions/otelcol-contrib/manifest.yaml`` of
open-telemetry/opentelemetry-collector-releases at commit
008cde8ca78cc0286ee3f0de92fa95e1641a445a: the manifest of release **v0.136.0**
(every component module pinned at v0.136.0, core providers at v1.42.0; the file's own
``dist.version`` field still read 0.135.0 at that commit, as the release PR bumps the
modules first).

A configuration names a component by its *type* (``memory_limiter``), the module by its
Go package (``memorylimiterprocessor``). The type is the package name without its class
suffix, except where ``TYPE_OVERRIDES`` says otherwise; those were read from each
component's ``metadata.yaml`` (``type:``) unless marked otherwise.
"""

from __future__ import annotations

RELEASE = "v0.136.0"
MANIFEST = (
    "https://github.com/open-telemetry/opentelemetry-collector-releases/blob/"
    "008cde8ca78cc0286ee3f0de92fa95e1641a445a/distributions/otelcol-contrib/manifest.yaml"
)

# Last path element of every gomod in the manifest, per section, in manifest order.
MODULES: dict[str, tuple[str, ...]] = {
    "extensions": (
        "zpagesextension", "ackextension", "asapauthextension", "awsproxy", "azureauthextension",
        "basicauthextension", "bearertokenauthextension", "cgroupruntimeextension", "datadogextension",
        "awscloudwatchmetricstreamsencodingextension", "awslogsencodingextension",
        "googlecloudlogentryencodingextension", "jaegerencodingextension", "jsonlogencodingextension",
        "otlpencodingextension", "skywalkingencodingextension", "textencodingextension",
        "zipkinencodingextension", "googleclientauthextension", "headerssetterextension",
        "healthcheckextension", "httpforwarderextension", "jaegerremotesampling",
        "oauth2clientauthextension", "dockerobserver", "ecsobserver", "ecstaskobserver", "hostobserver",
        "k8sobserver", "kafkatopicsobserver", "oidcauthextension", "opampextension", "pprofextension",
        "sigv4authextension", "filestorage", "dbstorage", "redisstorageextension", "sumologicextension",
        "k8sleaderelector",
    ),
    "exporters": (
        "debugexporter", "nopexporter", "otlpexporter", "otlphttpexporter",
        "alibabacloudlogserviceexporter", "awscloudwatchlogsexporter", "awsemfexporter",
        "awskinesisexporter", "awsxrayexporter", "awss3exporter", "azureblobexporter",
        "azuredataexplorerexporter", "azuremonitorexporter", "bmchelixexporter", "carbonexporter",
        "cassandraexporter", "clickhouseexporter", "coralogixexporter", "datadogexporter",
        "datasetexporter", "dorisexporter", "elasticsearchexporter", "faroexporter", "fileexporter",
        "googlecloudexporter", "googlecloudpubsubexporter", "googlemanagedprometheusexporter",
        "honeycombmarkerexporter", "influxdbexporter", "kafkaexporter", "loadbalancingexporter",
        "logicmonitorexporter", "logzioexporter", "mezmoexporter", "opensearchexporter",
        "otelarrowexporter", "prometheusexporter", "prometheusremotewriteexporter", "pulsarexporter",
        "rabbitmqexporter", "sapmexporter", "sentryexporter", "signalfxexporter", "splunkhecexporter",
        "stefexporter", "sumologicexporter", "syslogexporter", "tencentcloudlogserviceexporter",
        "tinybirdexporter", "zipkinexporter",
    ),
    "processors": (
        "batchprocessor", "memorylimiterprocessor", "attributesprocessor", "cumulativetodeltaprocessor",
        "coralogixprocessor", "deltatocumulativeprocessor", "deltatorateprocessor", "filterprocessor",
        "geoipprocessor", "groupbyattrsprocessor", "groupbytraceprocessor", "intervalprocessor",
        "isolationforestprocessor", "k8sattributesprocessor", "logdedupprocessor",
        "metricsgenerationprocessor", "metricstarttimeprocessor", "metricstransformprocessor",
        "probabilisticsamplerprocessor", "redactionprocessor", "remotetapprocessor",
        "resourcedetectionprocessor", "resourceprocessor", "schemaprocessor", "spanprocessor",
        "sumologicprocessor", "tailsamplingprocessor", "transformprocessor",
    ),
    "receivers": (
        "nopreceiver", "otlpreceiver", "activedirectorydsreceiver", "aerospikereceiver",
        "apachereceiver", "apachesparkreceiver", "awscloudwatchreceiver", "awscontainerinsightreceiver",
        "awsecscontainermetricsreceiver", "awsfirehosereceiver", "awss3receiver", "awsxrayreceiver",
        "azureblobreceiver", "azureeventhubreceiver", "azuremonitorreceiver", "bigipreceiver",
        "carbonreceiver", "chronyreceiver", "cloudflarereceiver", "cloudfoundryreceiver",
        "collectdreceiver", "couchdbreceiver", "datadogreceiver", "dockerstatsreceiver",
        "elasticsearchreceiver", "envoyalsreceiver", "expvarreceiver", "faroreceiver",
        "filelogreceiver", "filestatsreceiver", "flinkmetricsreceiver", "fluentforwardreceiver",
        "githubreceiver", "googlecloudmonitoringreceiver", "googlecloudpubsubreceiver",
        "googlecloudspannerreceiver", "haproxyreceiver", "hostmetricsreceiver", "httpcheckreceiver",
        "influxdbreceiver", "iisreceiver", "jaegerreceiver", "jmxreceiver", "journaldreceiver",
        "k8sclusterreceiver", "k8seventsreceiver", "k8sobjectsreceiver", "kafkametricsreceiver",
        "kafkareceiver", "kubeletstatsreceiver", "libhoneyreceiver", "lokireceiver",
        "memcachedreceiver", "mongodbatlasreceiver", "mongodbreceiver", "mysqlreceiver",
        "namedpipereceiver", "netflowreceiver", "nginxreceiver", "nsxtreceiver", "ntpreceiver",
        "oracledbreceiver", "otlpjsonfilereceiver", "otelarrowreceiver", "podmanreceiver",
        "postgresqlreceiver", "prometheusreceiver", "prometheusremotewritereceiver", "purefareceiver",
        "purefbreceiver", "pulsarreceiver", "rabbitmqreceiver", "receivercreator", "redisreceiver",
        "riakreceiver", "saphanareceiver", "signalfxreceiver", "simpleprometheusreceiver",
        "skywalkingreceiver", "snowflakereceiver", "solacereceiver", "splunkenterprisereceiver",
        "splunkhecreceiver", "stefreceiver", "sqlqueryreceiver", "sqlserverreceiver",
        "sshcheckreceiver", "statsdreceiver", "syslogreceiver", "tcpcheckreceiver", "tcplogreceiver",
        "tlscheckreceiver", "udplogreceiver", "vcenterreceiver", "wavefrontreceiver", "snmpreceiver",
        "webhookeventreceiver", "windowseventlogreceiver", "windowsperfcountersreceiver",
        "zipkinreceiver", "zookeeperreceiver",
    ),
    "connectors": (
        "forwardconnector", "countconnector", "datadogconnector", "exceptionsconnector",
        "failoverconnector", "grafanacloudconnector", "otlpjsonconnector", "roundrobinconnector",
        "routingconnector", "servicegraphconnector", "spanmetricsconnector", "sumconnector",
        "signaltometricsconnector",
    ),
}  # fmt: skip

# Modules whose component type is not the module name minus its class suffix.
TYPE_OVERRIDES: dict[str, str] = {
    # read from metadata.yaml
    "memorylimiterprocessor": "memory_limiter",
    "healthcheckextension": "health_check",
    "filestorage": "file_storage",
    "metricsgenerationprocessor": "experimental_metricsgeneration",
    "k8sclusterreceiver": "k8s_cluster",
    "simpleprometheusreceiver": "prometheus_simple",
    "awscontainerinsightreceiver": "awscontainerinsightreceiver",
    # from the components' READMEs, not re-read here
    "probabilisticsamplerprocessor": "probabilistic_sampler",
    "tailsamplingprocessor": "tail_sampling",
    "splunkhecexporter": "splunk_hec",
    "splunkhecreceiver": "splunk_hec",
    "receivercreator": "receiver_creator",
    "k8seventsreceiver": "k8s_events",
    "dbstorage": "db_storage",
    "redisstorageextension": "redis_storage",
    "httpforwarderextension": "http_forwarder",
    "headerssetterextension": "headers_setter",
    "oauth2clientauthextension": "oauth2client",
    "oidcauthextension": "oidc",
    "asapauthextension": "asapclient",
    "dockerobserver": "docker_observer",
    "ecsobserver": "ecs_observer",
    "ecstaskobserver": "ecs_task_observer",
    "hostobserver": "host_observer",
    "k8sobserver": "k8s_observer",
    "kafkatopicsobserver": "kafkatopics_observer",
    "k8sleaderelector": "k8s_leader_elector",
    "alibabacloudlogserviceexporter": "alibabacloud_logservice",
    "tencentcloudlogserviceexporter": "tencentcloud_logservice",
    "activedirectorydsreceiver": "active_directory_ds",
    "awscloudwatchmetricstreamsencodingextension": "awscloudwatchmetricstreams_encoding",
    "awslogsencodingextension": "awslogs_encoding",
    "googlecloudlogentryencodingextension": "googlecloudlogentry_encoding",
    "jaegerencodingextension": "jaeger_encoding",
    "jsonlogencodingextension": "json_log_encoding",
    "otlpencodingextension": "otlp_encoding",
    "skywalkingencodingextension": "skywalking_encoding",
    "textencodingextension": "text_encoding",
    "zipkinencodingextension": "zipkin_encoding",
}

_SUFFIXES = {
    "extensions": ("extension",),
    "exporters": ("exporter",),
    "processors": ("processor",),
    "receivers": ("receiver",),
    "connectors": ("connector",),
}


def component_type(section: str, module: str) -> str:
    """The configuration type of ``module`` from ``section`` (e.g. ``memorylimiterprocessor`` -> ``memory_limiter``)."""
    if module in TYPE_OVERRIDES:
        return TYPE_OVERRIDES[module]
    for suffix in _SUFFIXES[section]:
        if module.endswith(suffix) and module != suffix:
            return module[: -len(suffix)]
    return module


def component_types() -> dict[str, frozenset[str]]:
    """``{section: the set of component types}`` of the contrib distribution, per config section."""
    return {section: frozenset(component_type(section, m) for m in mods) for section, mods in MODULES.items()}
