"""Forward and backward of every layer, batched vs the per-sample loop reference.

Each suite times one call: a reference implementation processes ONE sample
per call, a batched one a batch of 128, so compare them through
``track_speedup_vs_reference``, which divides the loop reference's per-sample
time by the implementation's per-sample time (forward + backward, batch 128,
float32) and is tracked as a ratio ("x"). The backward pass includes the
tutorial's SGD step (``backward_propagation(error, learning_rate)``).
"""

from .common import CONVOLUTIONS, POOLS, LayerRun, speedup_vs_reference


class _LayerSuite:
    """Shared machinery; a suite says its ``cases`` and how to ``make_layer`` from a library."""

    implementations = ["reference", "numpy", "cupy"]
    cases = {}
    param_names = ["implementation", "case"]
    timeout = 180

    def make_layer(self, library, case):
        raise NotImplementedError

    def sample_shape(self, case):
        return self.cases[case][0]

    def setup(self, implementation, case):
        self.run = LayerRun(implementation, lambda library: self.make_layer(library, case),
                            self.sample_shape(case))

    def time_forward(self, implementation, case):
        self.run.forward()

    def time_backward(self, implementation, case):
        self.run.backward()

    def track_speedup_vs_reference(self, implementation, case):
        return speedup_vs_reference(implementation, lambda library: self.make_layer(library, case),
                                    self.sample_shape(case))

    track_speedup_vs_reference.unit = "x"


class Dense(_LayerSuite):
    """FCLayer: the tutorial MLP's 784 -> 100, and the standard CNN's 3136 -> 128."""

    cases = {"784-100": ((784,), 100), "3136-128": ((3136,), 128)}
    params = [_LayerSuite.implementations, list(cases)]

    def make_layer(self, library, case):
        return library.FCLayer(self.cases[case][1])


class Activation(_LayerSuite):
    """ActivationLayer: tanh on the tutorial's 100 hidden units, ReLU after the conv32."""

    cases = {"tanh-100": ((100,), "tanh"), "relu-28x28x32": ((28, 28, 32), "relu")}
    params = [_LayerSuite.implementations, list(cases)]

    def make_layer(self, library, case):
        function = self.cases[case][1]
        return library.ActivationLayer(getattr(library, function), getattr(library, function + "_prime"))


class Convolution(_LayerSuite):
    """ConvolutionalLayer: the tutorial's 5-filter 3x3/2 conv, and conv32 / conv64 (3x3, pad 1)."""

    implementations = ["reference", "windows", "numpy", "cupy"]
    cases = CONVOLUTIONS
    params = [implementations, list(cases)]

    def make_layer(self, library, case):
        return library.ConvolutionalLayer(**self.cases[case][1])


class MaxPooling(_LayerSuite):
    """MaxPoolingLayer 2x2, stride 2, after each convolution of the suites above."""

    cases = POOLS
    params = [_LayerSuite.implementations, list(cases)]

    def sample_shape(self, case):
        return self.cases[case]

    def make_layer(self, library, case):
        return library.MaxPoolingLayer(pool_shape=(2, 2), stride=2)


class AveragePooling(MaxPooling):
    """AveragePoolingLayer 2x2, stride 2, on the same inputs as MaxPooling."""

    def make_layer(self, library, case):
        return library.AveragePoolingLayer(pool_shape=(2, 2), stride=2)


class Flatten(_LayerSuite):
    """FlattenLayer on the last pooled maps of the tutorial CNN (7x7x5) and the standard CNN (7x7x64)."""

    cases = {"7x7x5": ((7, 7, 5),), "7x7x64": ((7, 7, 64),)}
    params = [_LayerSuite.implementations, list(cases)]

    def make_layer(self, library, case):
        return library.FlattenLayer()
