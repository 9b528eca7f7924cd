"""Streaming outputs: each sink flushes as it goes, so an interrupted run leaves valid files."""

from core.sinks.base import Sink
from core.sinks.coco_dataset import CocoDatasetSink
from core.sinks.coco_json import CocoJsonSink, coco_results
from core.sinks.csv_sink import CsvSink, csv_columns
from core.sinks.multi import MultiSink, SinkOptions, open_sinks
from core.sinks.openpose import OpenPoseSink
from core.sinks.posec3d import PoseC3DSink
from core.sinks.video import VideoSink

__all__ = [
    "CocoDatasetSink",
    "CocoJsonSink",
    "CsvSink",
    "MultiSink",
    "OpenPoseSink",
    "PoseC3DSink",
    "Sink",
    "SinkOptions",
    "VideoSink",
    "coco_results",
    "csv_columns",
    "open_sinks",
]
