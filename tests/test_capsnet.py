"""model/capsnet.py: squash, routing by agreement and the traced forward pass.

Routing is checked the micrograd way: hand-computed numbers on a tiny example, then the vectorised
code against a slow obvious reference (python loops over examples, capsules and digits)."""
from __future__ import annotations

import math

import pytest
import torch

from model.capsnet import CapsNet, CapsNetConfig, RoutingStep, dynamic_routing, parameter_counts, squash



@pytest.fixture(scope="module")
def model() -> CapsNet:
    torch.manual_seed(0)
    return CapsNet().eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.rand(3, 1, 28, 28, generator=g)  # (3, 1, 28, 28), three different examples


# --- squash -------------------------------------------------------------------------------------

def test_squash_hand_computed():
    # s = (3, 4): |s|^2 = 25, squashed length 25/26, direction (0.6, 0.8) -> (15/26, 20/26).
    v = squash(torch.tensor([[3.0, 4.0]]))
    assert torch.allclose(v, torch.tensor([[15 / 26, 20 / 26]]), atol=1e-6)
    # s = (1, 0): length 1/2; s = (0, 0.5): length 0.25/1.25 = 0.2.
    v = squash(torch.tensor([[1.0, 0.0], [0.0, 0.5]]))
    assert torch.allclose(v, torch.tensor([[0.5, 0.0], [0.0, 0.2]]), atol=1e-6)


def test_squash_zero_vector_is_zero_and_finite():
    s = torch.zeros(2, 16, requires_grad=True)
    v = squash(s)
    assert torch.equal(v, torch.zeros(2, 16))
    v.sum().backward()
    assert torch.isfinite(s.grad).all()


def test_squash_keeps_direction_and_maps_length_into_unit_interval():
    g = torch.Generator().manual_seed(0)
    scale = torch.logspace(-3, 3, 50, dtype=torch.float64).view(50, 1)
    s = torch.randn(50, 8, generator=g, dtype=torch.float64) * scale  # lengths from ~1e-3 to ~1e3
    v = squash(s)
    n_s, n_v = s.norm(dim=-1), v.norm(dim=-1)
    assert ((n_v >= 0) & (n_v < 1)).all()
    # The length is the formula's, computed another way: |s|^2 / (1 + |s|^2).
    assert torch.allclose(n_v, n_s**2 / (1 + n_s**2), rtol=1e-6)
    # Same direction: cosine 1.
    assert torch.allclose(torch.nn.functional.cosine_similarity(s, v, dim=-1), torch.ones(50, dtype=torch.float64))


def test_squash_along_another_dim():
    s = torch.randn(4, 8, 5)
    assert torch.allclose(squash(s, dim=1), squash(s.transpose(1, 2)).transpose(1, 2), atol=1e-7)


# --- routing: hand-computed -----------------------------------------------------------------------

# B=1, N=2 primary capsules, J=2 digits, D=2:
#   u_hat[i=0] = [(3, 4), (1, 0)]     u_hat[i=1] = [(0, 0), (0, 1)]
U_HAT = torch.tensor([[[[3.0, 4.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]]])  # (1, 2, 2, 2)
R2 = math.sqrt(2) / 6  # 0.2357023

# Iteration 1: b = 0, so c = 1/2 everywhere.
#   s_0 = (3, 4)/2 + (0, 0)/2 = (1.5, 2); |s_0|^2 = 6.25 -> length 6.25/7.25 = 25/29 -> v_0 = (15/29, 20/29)
#   s_1 = (1, 0)/2 + (0, 1)/2 = (0.5, 0.5); |s_1|^2 = 0.5 -> length 1/3 -> v_1 = (1/3)(1, 1)/sqrt 2 = (sqrt2/6, sqrt2/6)
#   agreement u_hat . v: a_00 = (45 + 80)/29 = 125/29, a_01 = sqrt2/6, a_10 = 0, a_11 = sqrt2/6
ITER1 = dict(
    b=[[0.0, 0.0], [0.0, 0.0]],
    c=[[0.5, 0.5], [0.5, 0.5]],
    s=[[1.5, 2.0], [0.5, 0.5]],
    v=[[15 / 29, 20 / 29], [R2, R2]],
    agreement=[[125 / 29, R2], [0.0, R2]],
)
# Iteration 2: b = agreement of iteration 1.
#   c_00 = 1 / (1 + e^(sqrt2/6 - 125/29)) = 1 / (1 + e^-4.074642) = 0.983286, c_01 = 0.016714
#   c_10 = 1 / (1 + e^(sqrt2/6)) = 1 / (1 + 1.265797) = 0.441346,             c_11 = 0.558654
#   s_0 = c_00 (3, 4) = (2.949857, 3.933143); |s_0|^2 = 25 c_00^2 = 24.171275 -> length 0.960272
#        v_0 = 0.960272 (0.6, 0.8) = (0.576163, 0.768218)
#   s_1 = c_01 (1, 0) + c_11 (0, 1) = (0.016714, 0.558654); |s_1|^2 = 0.312373 -> length 0.238022
#        v_1 = 0.238022 (0.016714, 0.558654) / 0.558904 = (0.007118, 0.237916)
#   agreement: a_00 = 3(0.576163) + 4(0.768218) = 4.801361, a_01 = 0.007118, a_10 = 0, a_11 = 0.237916
ITER2 = dict(
    b=[[125 / 29, R2], [0.0, R2]],
    c=[[0.983286, 0.016714], [0.441346, 0.558654]],
    s=[[2.949857, 3.933143], [0.016714, 0.558654]],
    v=[[0.576163, 0.768218], [0.007118, 0.237916]],
    agreement=[[4.801361, 0.007118], [0.0, 0.237916]],
)


def _check_step(step: RoutingStep, expected: dict) -> None:
    for name, want in expected.items():
        got = getattr(step, name)[0]
        assert torch.allclose(got, torch.tensor(want), atol=2e-6), f"{name}: {got.tolist()} != {want}"


def test_one_routing_iteration_by_hand():
    v, steps = dynamic_routing(U_HAT, iterations=1, trace=True)
    assert len(steps) == 1
    _check_step(steps[0], ITER1)
    assert torch.allclose(v[0], torch.tensor(ITER1["v"]), atol=2e-6)


def test_two_routing_iterations_by_hand():
    v, steps = dynamic_routing(U_HAT, iterations=2, trace=True)
    assert len(steps) == 2
    _check_step(steps[0], ITER1)
    _check_step(steps[1], ITER2)
    assert torch.allclose(v[0], torch.tensor(ITER2["v"]), atol=2e-6)
    # Without a trace the result is the same and no steps are returned.
    v2, no_steps = dynamic_routing(U_HAT, iterations=2)
    assert no_steps == [] and torch.equal(v, v2)


def test_routing_rejects_zero_iterations():
    with pytest.raises(ValueError, match="at least 1"):
        dynamic_routing(U_HAT, iterations=0)


# --- routing: vectorised vs a slow obvious reference ----------------------------------------------

def reference_routing(u_hat: list, iterations: int) -> tuple[list, list]:
    """Procedure 1 of the paper with python loops over examples b, capsules i, digits j and dims d.
    u_hat: nested lists [b][i][j][d]. Returns v [b][j][d] and c per iteration [r][b][i][j]."""
    B, N, J, D = len(u_hat), len(u_hat[0]), len(u_hat[0][0]), len(u_hat[0][0][0])
    v_all, c_all = [], [[] for _ in range(iterations)]
    for n in range(B):
        u = u_hat[n]
        logits = [[0.0] * J for _ in range(N)]
        for r in range(iterations):
            c = []
            for i in range(N):
                exps = [math.exp(logits[i][j]) for j in range(J)]
                c.append([e / sum(exps) for e in exps])
            c_all[r].append(c)
            v = []
            for j in range(J):
                s = [sum(c[i][j] * u[i][j][d] for i in range(N)) for d in range(D)]
                n2 = sum(x * x for x in s)
                norm = math.sqrt(n2)
                v.append([x * n2 / (1 + n2) / norm if norm > 0 else 0.0 for x in s])
            for i in range(N):
                for j in range(J):
                    logits[i][j] += sum(u[i][j][d] * v[j][d] for d in range(D))
        v_all.append(v)
    return v_all, c_all


@pytest.mark.parametrize("iterations", [1, 2, 3, 5])
def test_vectorised_routing_matches_reference(iterations):
    g = torch.Generator().manual_seed(iterations)
    u_hat = torch.randn(2, 7, 4, 3, generator=g, dtype=torch.float64)  # (B, N, J, D)
    v, steps = dynamic_routing(u_hat, iterations, trace=True)
    v_ref, c_ref = reference_routing(u_hat.tolist(), iterations)
    assert torch.allclose(v, torch.tensor(v_ref, dtype=torch.float64), atol=1e-12)
    for step, c in zip(steps, c_ref, strict=True):
        assert torch.allclose(step.c, torch.tensor(c, dtype=torch.float64), atol=1e-12)


def test_coupling_coefficients_sum_to_one_every_iteration():
    g = torch.Generator().manual_seed(3)
    u_hat = torch.randn(3, 1152, 10, 16, generator=g)  # (B, 1152, 10, 16), the real sizes
    _, steps = dynamic_routing(u_hat, iterations=5, trace=True)
    assert len(steps) == 5
    for step in steps:
        assert (step.c >= 0).all()
        assert torch.allclose(step.c.sum(dim=2), torch.ones(3, 1152), atol=1e-5)
    # Routing changes the coefficients: after iteration 1 they are no longer uniform.
    assert not torch.allclose(steps[1].c, steps[0].c)


def test_trace_logits_accumulate_agreement():
    """b of iteration r+1 = b of iteration r + agreement of iteration r; agreement = u_hat . v."""
    g = torch.Generator().manual_seed(4)
    u_hat = torch.randn(2, 20, 10, 16, generator=g, dtype=torch.float64)
    _, steps = dynamic_routing(u_hat, iterations=3, trace=True)
    assert torch.equal(steps[0].b, torch.zeros(2, 20, 10, dtype=torch.float64))
    for prev, nxt in zip(steps, steps[1:]):
        assert torch.allclose(nxt.b, prev.b + prev.agreement)
    for step in steps:
        assert torch.allclose(step.agreement, (u_hat * step.v.unsqueeze(1)).sum(-1))
        assert torch.allclose(step.c, torch.softmax(step.b, dim=2))
        assert torch.allclose(step.s, (step.c.unsqueeze(-1) * u_hat).sum(1))
        assert torch.allclose(step.v, squash(step.s))


def test_routing_batch_independence():
    g = torch.Generator().manual_seed(5)
    u_hat = torch.randn(4, 50, 10, 16, generator=g)
    v_batch, _ = dynamic_routing(u_hat, iterations=3)
    for n in range(4):
        v_alone, _ = dynamic_routing(u_hat[n : n + 1], iterations=3)
        assert torch.allclose(v_alone[0], v_batch[n], atol=1e-6)


def test_uniform_routing_is_one_step_with_c_one_tenth():
    g = torch.Generator().manual_seed(6)
    u_hat = torch.randn(2, 30, 10, 16, generator=g)
    v, steps = dynamic_routing(u_hat, iterations=3, trace=True, uniform=True)
    assert len(steps) == 1
    assert torch.allclose(steps[0].c, torch.full((2, 30, 10), 0.1))
    # c = 1/J, so s_j = (1/10) sum_i u_hat_j|i and v = squash(s).
    assert torch.allclose(steps[0].s, u_hat.sum(dim=1) / 10, atol=1e-5)
    assert torch.allclose(v, squash(u_hat.sum(dim=1) / 10), atol=1e-6)


# --- the model ------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch", [1, 3])
def test_trace_shapes(model, images, batch):
    x = images[:batch]
    with torch.no_grad():
        out, trace = model(x, trace=True)
    B = batch
    assert trace.conv1.shape == (B, 256, 20, 20)
    assert (trace.conv1 >= 0).all()  # after ReLU
    assert trace.primary_caps.shape == (B, 1152, 8)
    assert trace.primary_lengths.shape == (B, 1152)
    assert trace.u_hat.shape == (B, 1152, 10, 16)
    assert len(trace.routing) == 3
    for step in trace.routing:
        for name in ("b", "c", "agreement"):
            assert getattr(step, name).shape == (B, 1152, 10), name
        assert step.s.shape == (B, 10, 16) and step.v.shape == (B, 10, 16)
    assert trace.digit_caps.shape == (B, 10, 16)
    assert trace.lengths.shape == (B, 10)
    assert trace.decoded_digit.shape == (B,)
    assert trace.reconstruction.shape == (B, 28, 28)
    assert out.lengths.shape == (B, 10) and out.digit_caps.shape == (B, 10, 16)
    assert out.reconstruction.shape == (B, 28, 28)


@pytest.mark.parametrize("iterations", [1, 2, 5])
def test_one_routing_step_per_iteration(model, images, iterations):
    with torch.no_grad():
        _, trace = model(images[:1], iterations=iterations, trace=True)
    assert len(trace.routing) == iterations


def test_trace_is_consistent_with_output(model, images):
    with torch.no_grad():
        out, trace = model(images, trace=True)
    assert torch.equal(trace.routing[-1].v, out.digit_caps)
    assert torch.equal(trace.digit_caps, out.digit_caps)
    assert torch.allclose(out.lengths, out.digit_caps.norm(dim=-1))
    assert torch.equal(trace.lengths, out.lengths)
    assert torch.allclose(trace.primary_lengths, trace.primary_caps.norm(dim=-1))
    assert (trace.primary_lengths < 1).all() and (out.lengths < 1).all()
    assert torch.equal(trace.reconstruction, out.reconstruction)
    # u_hat computed a second way: u_hat_j|i = W_ij u_i with explicit matrix products.
    W = model.W  # (1152, 10, 16, 8)
    u = trace.primary_caps  # (B, 1152, 8)
    u_hat = torch.matmul(W.unsqueeze(0), u[:, :, None, :, None]).squeeze(-1)  # (B, 1152, 10, 16)
    assert torch.allclose(trace.u_hat, u_hat, atol=1e-6)
    # conv1 computed a second way.
    assert torch.allclose(trace.conv1, torch.relu(model.conv1(images)), atol=1e-6)


def test_primary_capsule_index_convention(model, images):
    """Capsule i = type * 36 + row * 6 + col, vector = the type's 8 channels at (row, col)."""
    with torch.no_grad():
        _, trace = model(images[:1], trace=True)
        p = model.primary(trace.conv1)[0]  # (256, 6, 6)
    for typ, row, col in [(0, 0, 0), (5, 2, 3), (31, 5, 5)]:
        i = typ * 36 + row * 6 + col
        raw = p[typ * 8 : (typ + 1) * 8, row, col]
        assert torch.allclose(trace.primary_caps[0, i], squash(raw), atol=1e-6)


def test_decoder_sees_longest_capsule_without_target(model, images):
    with torch.no_grad():
        out, trace = model(images, trace=True)
        longest = out.lengths.argmax(dim=1)
        assert torch.equal(trace.decoded_digit, longest)
        v = out.digit_caps[torch.arange(3), longest]  # (3, 16)
        assert torch.allclose(out.reconstruction, model.decode_vector(longest, v), atol=1e-6)


def test_decoder_sees_target_capsule(model, images):
    target = torch.tensor([7, 0, 3])
    with torch.no_grad():
        out, trace = model(images, target=target, trace=True)
        assert torch.equal(trace.decoded_digit, target)
        v = out.digit_caps[torch.arange(3), target]
        assert torch.allclose(out.reconstruction, model.decode_vector(target, v), atol=1e-6)
        # The mask matters: another target gives another image.
        other, _ = model(images, target=(target + 1) % 10)
    assert not torch.allclose(other.reconstruction, out.reconstruction)
    assert torch.equal(other.lengths, out.lengths)  # the target never changes the routing


def test_forward_without_trace_returns_none_and_same_output(model, images):
    with torch.no_grad():
        out_a, none = model(images)
        out_b, trace = model(images, trace=True)
    assert none is None and trace is not None
    for a, b in zip(out_a, out_b, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_forward_batch_independence(model, images):
    with torch.no_grad():
        batch, _ = model(images)
        for n in range(3):
            alone, _ = model(images[n : n + 1])
            assert torch.allclose(alone.lengths[0], batch.lengths[n], atol=1e-5)
            assert torch.allclose(alone.digit_caps[0], batch.digit_caps[n], atol=1e-5)
            assert torch.allclose(alone.reconstruction[0], batch.reconstruction[n], atol=1e-5)


def test_uniform_routing_in_forward(model, images):
    with torch.no_grad():
        _, trace = model(images[:2], iterations=3, trace=True, uniform_routing=True)
    assert len(trace.routing) == 1
    assert torch.allclose(trace.routing[0].c, torch.full((2, 1152, 10), 0.1))


def test_parameter_counts(model):
    counts = parameter_counts(model)
    assert counts == {
        "conv1": 256 * 81 + 256,  # 20,992
        "primary_caps": 256 * 256 * 81 + 256,  # 5,308,672
        "digit_caps": 1152 * 10 * 16 * 8,  # 1,474,560
        "decoder": 160 * 512 + 512 + 512 * 1024 + 1024 + 1024 * 784 + 784,  # 1,411,344
        "total": 8_215_568,
    }
    assert counts["conv1"] == 20_992 and counts["primary_caps"] == 5_308_672
    assert counts["digit_caps"] == 1_474_560 and counts["decoder"] == 1_411_344
    assert sum(p.numel() for p in model.parameters()) == counts["total"]


def test_config_round_trip():
    cfg = CapsNetConfig(routing_iterations=2)
    assert CapsNetConfig.from_dict(cfg.to_dict()) == cfg
    assert (cfg.conv1_size, cfg.primary_grid, cfg.primary_count) == (20, 6, 1152)


def _module_state(model: CapsNet) -> dict:
    """Every attribute of every submodule: its identity and, for tensors, a copy of the values."""
    state = {}
    for name, m in model.named_modules():
        for key, value in vars(m).items():
            if isinstance(value, dict):  # _parameters, _buffers, _modules, hooks ...
                state[(name, key)] = {k: (id(v), v.detach().clone() if torch.is_tensor(v) else None)
                                      for k, v in value.items()}
            else:
                state[(name, key)] = (id(value), value.detach().clone() if torch.is_tensor(value) else None)
    return state


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    (id_a, t_a), (id_b, t_b) = a, b
    return id_a == id_b and (t_a is None or torch.equal(t_a, t_b))


@pytest.mark.parametrize("train_mode", [False, True])
def test_forward_stores_nothing_on_the_module(images, train_mode):
    torch.manual_seed(0)
    m = CapsNet().train(train_mode)
    before = _module_state(m)
    out, trace = m(images[:2], target=torch.tensor([1, 2]), trace=True)
    out.lengths.sum().backward()  # even a backward pass only fills .grad
    after = _module_state(m)
    assert before.keys() == after.keys()
    changed = [k for k in before if not _same(before[k], after[k])]
    assert changed == []
