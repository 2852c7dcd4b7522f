"""Batched layers, one module per family, with the tutorial's names."""

from batchnet.layers.activation import ActivationLayer
from batchnet.layers.base import Layer
from batchnet.layers.conv import ConvolutionalLayer
from batchnet.layers.dense import FCLayer
from batchnet.layers.dropout import DropoutLayer
from batchnet.layers.flatten import FlattenLayer
from batchnet.layers.normalization import BatchNormalizationLayer
from batchnet.layers.pooling import AveragePoolingLayer, MaxPoolingLayer, PoolingLayer

__all__ = [
    "ActivationLayer",
    "AveragePoolingLayer",
    "BatchNormalizationLayer",
    "ConvolutionalLayer",
    "DropoutLayer",
    "FCLayer",
    "FlattenLayer",
    "Layer",
    "MaxPoolingLayer",
    "PoolingLayer",
]
