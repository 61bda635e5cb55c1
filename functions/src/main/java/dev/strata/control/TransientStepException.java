package dev.strata.control;

/**
 * A workflow step failed for a reason that may pass: a dependency did not answer, DynamoDB was
 * unavailable after the SDK's retries, or a conditional write lost a race and the step should read
 * again and decide again. The workflows ({@code state-machines/}) retry exactly this error (by this
 * fully qualified class name, which is what the Lambda Java runtime reports as the error's type)
 * with backoff; every other exception a handler throws is permanent and goes to the compensation.
 */
public class TransientStepException extends RuntimeException {

    public TransientStepException(String message) {
        super(message);
    }

    public TransientStepException(String message, Throwable cause) {
        super(message, cause);
    }
}
