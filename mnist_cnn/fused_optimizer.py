"""Adam's update in one TensorFlow kernel per variable, for the training loop's traced step.

Keras 3's Adam updates each variable with about ten separate element-wise operations, each
reading and writing the 1,000 x 1,024 dense kernel's 4 MB (and its two moment slots) once more;
TensorFlow's ``ResourceApplyAdam`` does the same arithmetic in one pass
(m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2); w -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon)),
on the optimizer's own slots, so checkpoints and the Keras optimizer's state stay as they were.
Optimizers with anything more (weight decay, clipping, AMSGrad, moving averages, accumulation)
and other optimizers go through Keras's ``apply_gradients``.
"""
import keras
import tensorflow as tf


def can_fuse(optimizer):
    """Whether ``optimizer`` is a plain Adam that :func:`apply_gradients` can update in fused kernels."""
    return (
        type(optimizer) is keras.optimizers.Adam
        and not optimizer.amsgrad
        and not optimizer.weight_decay
        and optimizer.clipnorm is None
        and optimizer.clipvalue is None
        and optimizer.global_clipnorm is None
        and not optimizer.use_ema
        and not optimizer.gradient_accumulation_steps
        and optimizer.loss_scale_factor is None
    )


def apply_gradients(optimizer, gradients, variables, fused=True):
    """Update ``variables`` by ``gradients`` as ``optimizer.apply_gradients`` would, in fused kernels when it can."""
    variables = list(variables)
    if not (fused and can_fuse(optimizer)) or any(variable.constraint is not None for variable in variables):
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return
    if not optimizer.built:
        optimizer.build(variables)
    step = tf.cast(optimizer.iterations + 1, tf.float32)
    learning_rate = tf.cast(optimizer.learning_rate, tf.float32)  # the schedule's rate at this step
    beta_1, beta_2 = tf.constant(optimizer.beta_1, tf.float32), tf.constant(optimizer.beta_2, tf.float32)
    beta_1_power, beta_2_power = tf.pow(beta_1, step), tf.pow(beta_2, step)
    epsilon = tf.constant(optimizer.epsilon, tf.float32)
    for gradient, variable in zip(gradients, variables, strict=True):
        index = optimizer._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.value.handle,
            m=optimizer._momentums[index].value.handle,
            v=optimizer._velocities[index].value.handle,
            beta1_power=beta_1_power, beta2_power=beta_2_power, lr=learning_rate,
            beta1=beta_1, beta2=beta_2, epsilon=epsilon, grad=tf.cast(gradient, tf.float32),
        )
    optimizer.iterations.assign_add(1)
