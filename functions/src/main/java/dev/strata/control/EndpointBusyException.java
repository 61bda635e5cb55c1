package dev.strata.control;

/**
 * The endpoint is held by another operation (a wake or suspend in flight, or it is already
 * running): this operation lost the race on the endpoint's conditional write, or came after it, and
 * changes nothing. Permanent: the operation fails with this message and its compensation leaves the
 * endpoint to the operation that holds it.
 */
public class EndpointBusyException extends StepFailedException {

    public EndpointBusyException(String message) {
        super(message);
    }
}
