"""How ``NeuralNetwork.fit`` trains: the loop (epochs, steps, evaluation passes, the train/eval
mode), the callbacks it calls, the epoch figures, the history, the progress display and the
data-parallel shards that run a batch on several cores."""
