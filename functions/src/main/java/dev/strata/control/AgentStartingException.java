package dev.strata.control;

/**
 * ClaimAgent found no IDLE agent and a compute task was launched for this wake (on AWS, an
 * on-demand task beside the warm pool), but its agent has not joined the pool yet. The wait is
 * longer than a transient error's: the workflows retry this error by its own name (the Lambda Java
 * runtime reports the concrete class, so it does not match {@link TransientStepException}'s
 * retrier) for about two and a half minutes, the time a Fargate task needs to pull its image and
 * start. Local pools never throw it: their launches return a running agent.
 */
public final class AgentStartingException extends TransientStepException {

    public AgentStartingException(String message) {
        super(message);
    }
}
