"""What ``NeuralNetwork.fit`` needs besides the layers: the per-epoch history, the progress
display and the data-parallel shards that run a batch on several cores."""
