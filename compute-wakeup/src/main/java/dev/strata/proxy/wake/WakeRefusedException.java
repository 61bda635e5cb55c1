package dev.strata.proxy.wake;

/**
 * A definitive answer to a {@link ComputeControl#wake}: the control plane ran the wake and it
 * failed (its operation is recorded FAILED with this error), so trying again at once would only
 * start another operation that fails the same way. The proxy does not retry it: the client gets
 * the message at once (SQLSTATE 57P03), and the next client connection asks again.
 *
 * <p>The message is shown to the client: it names the endpoint, the operation and the recorded
 * error, and never carries a secret.
 */
public class WakeRefusedException extends RuntimeException {

    public WakeRefusedException(String message) {
        super(message);
    }
}
