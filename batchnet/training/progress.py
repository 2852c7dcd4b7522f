"""The per-epoch progress display of ``fit`` (tqdm), or one line per epoch."""

from tqdm.auto import tqdm

# Reading the running loss forces a device sync on the GPU: do it this rarely.
LOSS_REFRESH_STEPS = 25


class EpochProgress:
    def __init__(self, steps, epoch, epochs, bar=True):
        self.label = f"epoch {epoch}/{epochs}"
        self.bar = tqdm(total=steps, desc=self.label, leave=True, dynamic_ncols=True) if bar else None

    def update(self, step, running_loss):
        if self.bar is None:
            return
        self.bar.update(step - self.bar.n)
        if step % LOSS_REFRESH_STEPS == 0 or step == self.bar.total:
            self.bar.set_postfix_str(f"loss={running_loss():.4f}", refresh=False)

    def close(self, summary):
        if self.bar is None:
            print(f"{self.label}   {summary}", flush=True)
            return
        self.bar.set_postfix_str(summary, refresh=False)
        self.bar.close()
