"""The training loop: gradient accumulation, clipping and schedules against a hand-written PyTorch loop,
checkpoint/resume equivalence, evaluation, the progress bar and the plot."""
import numpy as np
import pytest
from helpers import torch

import retrograd as rg
import retrograd.nn as nn
import retrograd.nn.functional as F
from retrograd.train import HISTORY_KEYS, Trainer, fit, plot_history
from retrograd.train.jobs import JOBS
from retrograd.utils.data import DataLoader, TensorDataset

DATA = np.random.default_rng(0)
X = DATA.standard_normal((100, 6)).astype(np.float32)
Y = DATA.integers(0, 3, 100)


def make_model(lib, dropout=0.0):
    return lib.nn.Sequential(lib.nn.Linear(6, 16), lib.nn.Tanh(), lib.nn.Dropout(dropout), lib.nn.Linear(16, 3))


def twin_models(dropout=0.0):
    """A retrograd model and a PyTorch model with the same weights."""
    rg.manual_seed(0)
    model = make_model(rg)
    twin = make_model(torch)
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return model, twin


def loader(n, batch_size, **kw):
    return DataLoader(TensorDataset(rg.tensor(X[:n]), rg.tensor(Y[:n])), batch_size=batch_size, **kw)


def params(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


class RecordingSGD(rg.optim.SGD):
    """SGD that keeps a copy of the gradients it was given at each step."""

    def step(self, closure=None):
        self.seen = [p.grad.numpy().copy() for g in self.param_groups for p in g["params"]]
        return super().step(closure)


# ---- gradient accumulation ---------------------------------------------------------------------------------
def test_four_micro_batches_give_the_gradients_and_step_of_one_batch_of_32():
    model, twin = twin_models()
    opt = RecordingSGD(model.parameters(), lr=0.1)
    history = Trainer(model, opt, accum_steps=4, log=None).fit(loader(32, 8), epochs=1)
    assert history["step_loss"] == pytest.approx([history["train_loss"][0]], rel=1e-6)  # one step, its mean loss
    loss = torch.nn.functional.cross_entropy(twin(torch.tensor(X[:32])), torch.tensor(Y[:32]))
    loss.backward()
    for got, p in zip(opt.seen, twin.parameters()):
        np.testing.assert_allclose(got, p.grad.numpy(), rtol=1e-5, atol=1e-7)
    torch.optim.SGD(twin.parameters(), lr=0.1).step()
    for got, p in zip(params(model), twin.parameters()):
        np.testing.assert_allclose(got, p.detach().numpy(), rtol=1e-5, atol=1e-7)

    big, _ = twin_models()  # and the same as the loop with one micro-batch of 32
    big_opt = RecordingSGD(big.parameters(), lr=0.1)
    Trainer(big, big_opt, log=None).fit(loader(32, 32), epochs=1)
    for a, b in zip(opt.seen, big_opt.seen):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    for a, b in zip(params(model), params(big)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_short_last_group_is_averaged_over_its_own_micro_batches():
    model, twin = twin_models()
    trainer = Trainer(model, rg.optim.SGD(model.parameters(), lr=0.2), accum_steps=2, log=None)
    history = trainer.fit(loader(40, 8), epochs=1)  # 5 micro-batches: groups of 2, 2 and 1
    assert trainer.step == 3
    t_opt = torch.optim.SGD(twin.parameters(), lr=0.2)
    losses = []
    for a, b in ((0, 16), (16, 32), (32, 40)):  # equal micro-batches: a group's mean loss is its batch's mean
        loss = torch.nn.functional.cross_entropy(twin(torch.tensor(X[a:b])), torch.tensor(Y[a:b]))
        t_opt.zero_grad()
        loss.backward()
        t_opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(history["step_loss"], losses, rtol=1e-5)
    for got, p in zip(params(model), twin.parameters()):
        np.testing.assert_allclose(got, p.detach().numpy(), rtol=1e-5, atol=1e-7)


# ---- clipping, schedules, evaluation ----------------------------------------------------------------------
def test_loop_with_clipping_and_a_per_step_schedule_matches_a_pytorch_loop():
    model, twin = twin_models()
    opt = rg.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    sched = rg.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    trainer = Trainer(model, opt, scheduler=sched, clip_grad_norm=0.3, log=None)
    history = trainer.fit(loader(60, 10), epochs=2, val_loader=loader(100, 25))

    t_opt = torch.optim.SGD(twin.parameters(), lr=0.5, momentum=0.9)
    t_sched = torch.optim.lr_scheduler.StepLR(t_opt, step_size=3, gamma=0.5)
    ref = {"step_loss": [], "lr": [], "grad_norm": []}
    for _ in range(2):
        for a in range(0, 60, 10):
            loss = torch.nn.functional.cross_entropy(twin(torch.tensor(X[a:a + 10])), torch.tensor(Y[a:a + 10]))
            t_opt.zero_grad()
            loss.backward()
            ref["grad_norm"].append(torch.nn.utils.clip_grad_norm_(twin.parameters(), 0.3).item())
            ref["lr"].append(t_opt.param_groups[0]["lr"])
            t_opt.step()
            t_sched.step()
            ref["step_loss"].append(loss.item())
    for key, values in ref.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-5, err_msg=key)
    assert max(ref["grad_norm"]) > 0.3  # clipping did act
    for got, p in zip(params(model), twin.parameters()):
        np.testing.assert_allclose(got, p.detach().numpy(), rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        logits = twin(torch.tensor(X))
    np.testing.assert_allclose(history["val_loss"][-1],
                               torch.nn.functional.cross_entropy(logits, torch.tensor(Y)).item(), rtol=1e-5)
    assert history["val_accuracy"][-1] == pytest.approx((logits.argmax(1).numpy() == Y).mean())
    assert history["epoch_end_step"] == [6, 12]
    assert history["train_loss"][1] == pytest.approx(np.mean(ref["step_loss"][6:]), rel=1e-6)


def test_per_epoch_schedules_and_reduce_on_plateau_gets_the_validation_loss():
    model, _ = twin_models()
    opt = rg.optim.SGD(model.parameters(), lr=0.1)
    step_lr = rg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    history = Trainer(model, opt, scheduler=step_lr, scheduler_interval="epoch", log=None).fit(loader(20, 10), 2)
    np.testing.assert_allclose(history["lr"], [0.1, 0.1, 0.01, 0.01])

    opt = rg.optim.SGD(model.parameters(), lr=0.1)
    never_better = rg.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=10.0)
    lines = []
    Trainer(model, opt, scheduler=never_better, scheduler_interval="epoch", log=lines.append).fit(
        loader(20, 10), 3, val_loader=loader(20, 20))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)
    assert len(lines) == 3 and "val loss" in lines[0] and "samples/s" in lines[0]


def test_evaluate_restores_the_mode_and_takes_no_gradients():
    model, twin = twin_models(dropout=0.5)
    trainer = Trainer(model, rg.optim.SGD(model.parameters(), lr=0.1), log=None)
    metrics = trainer.evaluate(loader(100, 30))
    assert model.training and all(p.grad is None for p in model.parameters())
    twin.eval()
    with torch.no_grad():
        logits = twin(torch.tensor(X))
    assert metrics["loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, torch.tensor(Y)).item(),
                                            rel=1e-5)
    assert metrics["accuracy"] == pytest.approx((logits.argmax(1).numpy() == Y).mean())


def test_regression_has_a_loss_and_no_accuracy():
    model = nn.Linear(6, 1)
    data = DataLoader(TensorDataset(rg.tensor(X), rg.tensor(X[:, :1] * 2)), batch_size=20)
    history = fit(model, rg.optim.SGD(model.parameters(), lr=0.1), data, 5, data, loss_fn=F.mse_loss, log=None)
    assert history["val_loss"][-1] < history["val_loss"][0] / 2
    assert history["train_accuracy"] == [] and history["val_accuracy"] == []


# ---- checkpoint and resume --------------------------------------------------------------------------------
class Crash(Exception):
    pass


def make_run(checkpoint=None, crash_after=None, **options):
    """A fresh run (seeded model with dropout, AdamW, one-cycle schedule, shuffled loader with its own generator);
    its loss function raises Crash after `crash_after` calls."""
    rg.manual_seed(0)
    model = make_model(rg, dropout=0.3)
    opt = rg.optim.AdamW(model.parameters(), lr=0.02)
    sched = rg.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=15)
    calls = 0

    def loss_fn(output, target):
        nonlocal calls
        calls += 1
        if crash_after is not None and calls > crash_after:
            raise Crash
        return F.cross_entropy(output, target)

    train = loader(100, 8, shuffle=True, generator=rg.Generator().manual_seed(1))  # 13 batches, the last of 4
    trainer = Trainer(model, opt, loss_fn, scheduler=sched, accum_steps=3, clip_grad_norm=1.0,
                      checkpoint_path=checkpoint, log=None, **options)
    return trainer, train, loader(100, 50)


def assert_same_run(a: Trainer, b: Trainer):
    for key in HISTORY_KEYS:
        if key != "samples_per_s":
            assert a.history[key] == b.history[key], key
    for pa, pb in zip(params(a.model), params(b.model)):
        np.testing.assert_array_equal(pa, pb)
    assert (a.step, a.epoch) == (b.step, b.epoch)


@pytest.mark.parametrize("every, crash_after, resumed_at", [(2, 22, (1, 3)), (None, 24, (1, 0))],
                         ids=["mid-epoch", "epoch-boundary"])
def test_resume_after_a_crash_gives_the_uninterrupted_run(tmp_path, every, crash_after, resumed_at):
    full, train, val = make_run()
    full.fit(train, 3, val)
    assert full.step == 15

    path = tmp_path / "ckpt.safetensors"
    crashed, train, val = make_run(path, crash_after, checkpoint_every=every)
    with pytest.raises(Crash):
        crashed.fit(train, 3, val)

    resumed, train, val = make_run(path)
    rg.manual_seed(12345)  # the checkpoint's random state must win over whatever the process has now
    resumed.load_checkpoint(path)
    assert (resumed.epoch, resumed._batch) == resumed_at
    resumed.fit(train, 3, val)
    assert_same_run(full, resumed)


def test_fit_resumes_from_a_path_and_a_finished_run_does_nothing_more(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    first, train, val = make_run(path)
    first.fit(train, 3, val)
    model = make_model(rg, dropout=0.3)
    opt = rg.optim.AdamW(model.parameters(), lr=0.02)
    sched = rg.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=15)
    history = fit(model, opt, train, 3, val, resume=path, scheduler=sched, log=None)
    assert history["step_loss"] == first.history["step_loss"]
    for pa, pb in zip(params(first.model), params(model)):
        np.testing.assert_array_equal(pa, pb)


def test_checkpoint_contents_and_mismatched_resume(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    trainer, train, val = make_run(path)
    trainer.fit(train, 1, val)
    state = rg.load(path)
    assert set(state) == {"model", "optimizer", "scheduler", "progress", "history", "rng", "epoch_rng"}
    assert state["progress"]["step"] == 5 and state["progress"]["epoch"] == 1
    assert set(state["model"]) == set(trainer.model.state_dict())
    no_schedule = Trainer(make_model(rg), rg.optim.AdamW(trainer.model.parameters()), log=None)
    with pytest.raises(ValueError, match="scheduler"):
        no_schedule.load_checkpoint(path)
    rg.save({"weights": rg.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(KeyError, match="not a Trainer checkpoint"):
        no_schedule.load_checkpoint(tmp_path / "other.safetensors")


# ---- errors, progress bar, plot -------------------------------------------------------------------------------
def test_bad_settings_and_batches_raise():
    model = make_model(rg)
    opt = rg.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="accum_steps"):
        Trainer(model, opt, accum_steps=0)
    with pytest.raises(ValueError, match="scheduler_interval"):
        Trainer(model, opt, scheduler_interval="batch")
    with pytest.raises(ValueError, match="checkpoint_path"):
        Trainer(model, opt, checkpoint_every=10)
    with pytest.raises(ValueError, match="clip_grad_norm"):
        Trainer(model, opt, clip_grad_norm=0)
    with pytest.raises(TypeError, match="pair"):
        Trainer(model, opt, log=None).fit(DataLoader(TensorDataset(rg.tensor(X)), batch_size=10))
    with pytest.raises(ValueError, match="no batches"):
        Trainer(model, opt, log=None).evaluate([])


def test_progress_bar_shows_loss_and_throughput(capsys):
    model = make_model(rg)
    Trainer(model, rg.optim.SGD(model.parameters(), lr=0.1), progress=True, log=None).fit(loader(100, 10), 1)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "loss" in err and "samples/s" in err


def test_plot_history_writes_a_png(tmp_path):
    trainer, train, val = make_run()
    history = trainer.fit(train, 2, val)
    for name, hist in (("cls.png", history), ("reg.png", {"step_loss": [1.0, 0.5], "train_loss": [0.7],
                                                            "epoch_end_step": [2]})):
        path = plot_history(hist, tmp_path / name, title="test")
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# ---- the README's main job ------------------------------------------------------------------------------------
def test_digits_mlp_reaches_97_percent_with_its_default_settings(tmp_path, capsys):
    from retrograd.__main__ import main

    assert JOBS["digits-mlp"].defaults["epochs"] == 20
    main(["train", "digits-mlp", "--out", str(tmp_path), "--no-progress"])
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy ")[1].split("%")[0])
    assert accuracy >= 97.0, out
