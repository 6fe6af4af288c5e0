"""Learning-rate schedules: name -> pure function of the epoch (0-based) giving the rate.

Each takes ``(lr0, epoch, epochs, decay_rate, decay_steps, min_lr)`` and returns a float.
"""

from __future__ import annotations

import math
from collections.abc import Callable

Schedule = Callable[[float, int, int, float, int, float], float]


def constant(lr0: float, epoch: int, epochs: int, decay_rate: float, decay_steps: int,
             min_lr: float) -> float:
    """lr0 at every epoch."""
    return lr0


def inverse_time(lr0: float, epoch: int, epochs: int, decay_rate: float, decay_steps: int,
                 min_lr: float) -> float:
    """The course's decay: lr0 / (1 + decay_rate * floor(epoch / decay_steps))."""
    return lr0 / (1.0 + decay_rate * (epoch // decay_steps))


def exponential(lr0: float, epoch: int, epochs: int, decay_rate: float, decay_steps: int,
                min_lr: float) -> float:
    """lr0 * decay_rate ** (epoch / decay_steps), smoothly (decay_rate in (0, 1])."""
    return lr0 * decay_rate ** (epoch / decay_steps)


def step(lr0: float, epoch: int, epochs: int, decay_rate: float, decay_steps: int,
         min_lr: float) -> float:
    """lr0 * decay_rate ** floor(epoch / decay_steps): drops by a factor every decay_steps."""
    return lr0 * decay_rate ** (epoch // decay_steps)


def cosine(lr0: float, epoch: int, epochs: int, decay_rate: float, decay_steps: int,
           min_lr: float) -> float:
    """Cosine annealing from lr0 at epoch 0 to min_lr at the last epoch."""
    frac = epoch / max(epochs - 1, 1)
    return min_lr + 0.5 * (lr0 - min_lr) * (1.0 + math.cos(math.pi * frac))


SCHEDULES: dict[str, Schedule] = {
    "constant": constant,
    "inverse_time": inverse_time,
    "exponential": exponential,
    "step": step,
    "cosine": cosine,
}


def changes(config) -> bool:
    """Whether the learning rate of ``config`` (a ``TrainConfig``) differs between two of its
    ``epochs`` (a decaying schedule), False for a rate that stays constant."""
    schedule = SCHEDULES[config.schedule]
    if schedule is constant:
        return False
    args = (config.epochs, config.decay_rate, config.decay_steps, config.min_learning_rate)
    first = schedule(config.learning_rate, 0, *args)
    return any(schedule(config.learning_rate, epoch, *args) != first
               for epoch in range(1, config.epochs))
