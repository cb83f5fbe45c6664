"""Bad input is refused with a message naming the parameter."""

from __future__ import annotations

import pytest
import torch

from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn import Task, adapt, clone_params, maml_loss, mse_loss, stack_tasks


@pytest.fixture
def setup():
    model = torch.nn.Linear(2, 1)
    x = torch.randn(4, 2)
    return model, clone_params(model), Task((x, x[:, :1]), (x, x[:, :1]))


def test_inner_lr_must_cover_every_parameter_with_a_matching_shape(setup):
    model, params, task = setup
    with pytest.raises(InvalidParameterError, match="Missing \\['bias'\\]"):
        adapt(model, params, mse_loss, task.support, inner_lr={"weight": torch.tensor(0.1)})
    with pytest.raises(InvalidParameterError, match="'inner_lr' parameter of adapt"):
        adapt(
            model,
            params,
            mse_loss,
            task.support,
            inner_lr={"weight": torch.ones(3), "bias": torch.tensor(0.1)},
        )
    with pytest.raises(InvalidParameterError, match="finite float"):
        adapt(model, params, mse_loss, task.support, inner_lr=float("nan"))


def test_steps_tasks_params_and_vectorize_are_checked(setup):
    model, params, task = setup
    with pytest.raises(
        InvalidParameterError, match="'steps' parameter of adapt must be an int >= 0"
    ):
        adapt(model, params, mse_loss, task.support, steps=-1)
    with pytest.raises(InvalidParameterError, match="'tasks' parameter of task_losses"):
        maml_loss(model, params, [], mse_loss)
    with pytest.raises(InvalidParameterError, match="'params' parameter of task_losses"):
        maml_loss(model, {}, [task], mse_loss)
    with pytest.raises(InvalidParameterError, match="'vectorize' parameter"):
        maml_loss(model, params, [task], mse_loss, vectorize="yes")
    with pytest.raises(InvalidParameterError, match="'support' field of Task"):
        Task([torch.zeros(1)], (torch.zeros(1),))  # type: ignore[arg-type]


def test_stack_tasks():
    a = Task((torch.zeros(3, 1),), (torch.zeros(2, 1),))
    b = Task((torch.ones(3, 1),), (torch.ones(2, 1),))
    stacked = stack_tasks([a, b])
    assert stacked is not None and stacked.support[0].shape == (2, 3, 1)
    assert stack_tasks([a, Task((torch.zeros(4, 1),), (torch.zeros(2, 1),))]) is None


def test_a_first_order_flag_that_is_no_bool_is_refused(setup):
    model, params, task = setup
    with pytest.raises(InvalidParameterError, match=r"'first_order'.*'no'"):
        maml_loss(model, params, [task], mse_loss, first_order="no")


def test_params_the_model_has_not_are_refused_and_errors_name_the_function_called(setup):
    from metahpo.metalearn import meta_gradient

    model, params, task = setup
    with pytest.raises(InvalidParameterError, match=r"'params' parameter of adapt.*\['w'\]"):
        adapt(model, {"w": torch.zeros(1, 2)}, mse_loss, task.support)
    with pytest.raises(InvalidParameterError, match=r"'params' parameter of task_losses.*\['w'\]"):
        maml_loss(model, {"w": torch.zeros(1, 2)}, [task], mse_loss)
    with pytest.raises(InvalidParameterError, match="'tasks' parameter of meta_gradient"):
        meta_gradient(model, params, [], mse_loss)


@pytest.mark.parametrize("value", ["False", "no", 0, None])
def test_adapt_and_meta_gradient_refuse_a_first_order_flag_that_is_no_bool(setup, value):
    from metahpo.metalearn import meta_gradient

    model, params, task = setup
    with pytest.raises(InvalidParameterError, match=r"'first_order' parameter of adapt must be True or False"):
        adapt(model, params, mse_loss, task.support, first_order=value)
    with pytest.raises(InvalidParameterError, match=r"'first_order' parameter of meta_gradient"):
        meta_gradient(model, params, [task], mse_loss, first_order=value)


@pytest.mark.parametrize("vectorize", [None, True, False])
@pytest.mark.parametrize("empty", ["support", "query"])
def test_a_task_with_an_empty_support_or_query_set_is_refused(setup, vectorize, empty):
    model, params, task = setup
    x, y = task.support
    sets = {"support": (x, y), "query": (x, y), empty: (x[:0], y[:0])}
    with pytest.raises(InvalidParameterError, match=rf"at least one row in task 1's {empty} set.*shape \(0, 2\)"):
        maml_loss(model, params, [task, Task(**sets)], mse_loss, vectorize=vectorize)


def test_adapt_refuses_an_empty_support_set(setup):
    model, params, task = setup
    x, y = task.support
    with pytest.raises(InvalidParameterError, match=r"'support' parameter of adapt must hold at least one row"):
        adapt(model, params, mse_loss, (x[:0], y[:0]))


def test_inputs_of_another_dtype_than_the_params_and_integer_params_are_refused(setup):
    model, params, task = setup
    x, y = task.support
    double = Task((x.double(), y.double()), (x.double(), y.double()))
    with pytest.raises(InvalidParameterError, match=r"inputs of the parameters' dtype torch.float32 in task 0's"):
        maml_loss(model, params, [double], mse_loss)
    with pytest.raises(InvalidParameterError, match=r"'support' parameter of adapt.*torch.float64"):
        adapt(model, params, mse_loss, double.support)
    with pytest.raises(InvalidParameterError, match=r"floating-point tensors.*torch.int64.*'weight'"):
        maml_loss(model, {k: v.detach().long() for k, v in params.items()}, [task], mse_loss)
    # Targets of another float dtype are promoted by torch, and stay accepted.
    maml_loss(model, params, [Task((x, y.double()), (x, y.double()))], mse_loss)
