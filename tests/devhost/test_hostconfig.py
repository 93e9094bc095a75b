"""host.json and local.settings.json as the Functions host reads them (pure, files in a temp folder)."""

from __future__ import annotations

import json
import logging

import pytest

from hpcburst.devhost.hostconfig import HostConfig, LocalSettings, parse_timespan
from hpcburst.errors import ConfigError


def test_timespans():
    assert parse_timespan("00:00:30", "x") == 30
    assert parse_timespan("1.02:00:00", "x") == 86400 + 7200
    assert parse_timespan("00:00:00.5", "x") == 0.5
    with pytest.raises(ConfigError, match="not a TimeSpan"):
        parse_timespan("30s", "x")


def test_defaults_without_host_json(tmp_path):
    config = HostConfig.load(tmp_path)
    assert (config.route_prefix, config.found) == ("api", False)
    assert (config.queues.batch_size, config.queues.max_dequeue_count) == (16, 5)
    assert (config.queues.visibility_timeout, config.queues.max_polling_interval) == (0, 60)


def test_host_json_settings(tmp_path):
    (tmp_path / "host.json").write_text(
        json.dumps(
            {
                "logging": {"logLevel": {"default": "Warning"}},
                "extensions": {
                    "http": {"routePrefix": "/v2/"},
                    "queues": {"batchSize": 8, "newBatchThreshold": 3, "visibilityTimeout": "00:00:10"},
                    "durableTask": {"hubName": "hub", "maxConcurrentActivityFunctions": 3},
                },
            }
        )
    )
    config = HostConfig.load(tmp_path)
    assert config.route_prefix == "v2"
    assert (
        config.queues.batch_size,
        config.queues.new_batch_threshold,
        config.queues.visibility_timeout,
    ) == (8, 3, 10)
    assert (config.durable.hub_name, config.durable.max_activities) == ("hub", 3)
    assert config.log_level == logging.WARNING


def test_a_batch_size_out_of_range_is_refused(tmp_path):
    (tmp_path / "host.json").write_text('{"extensions": {"queues": {"batchSize": 64}}}')
    with pytest.raises(ConfigError, match="batchSize=64: use 1..32"):
        HostConfig.load(tmp_path)


def test_local_settings_fill_the_environment_without_overriding_it(tmp_path):
    (tmp_path / "local.settings.json").write_text(
        json.dumps(
            {
                "Values": {"A": "from file", "B": "from file", "N": 3, "T": True},
                "Host": {"LocalHttpPort": 7123},
            }
        )
    )
    settings = LocalSettings.load(tmp_path)
    environ = {"B": "from env"}
    applied, skipped = settings.apply(environ)
    assert environ == {"A": "from file", "B": "from env", "N": "3", "T": "true"}
    assert (sorted(applied), skipped) == (["A", "N", "T"], ["B"])
    assert settings.local_http_port == 7123


def test_encrypted_local_settings_are_refused(tmp_path):
    (tmp_path / "local.settings.json").write_text('{"IsEncrypted": true, "Values": {}}')
    with pytest.raises(ConfigError, match="encrypted"):
        LocalSettings.load(tmp_path)
