package dev.strata.control;

/**
 * A branch or restore point that the parent timeline's history does not contain: a time before its
 * first commit or after its last one, an LSN beyond its head or below where its history starts.
 * Permanent: the operation fails with this message (which names the timeline, the point asked for and
 * the range it has) and nothing is created.
 */
public class BranchPointException extends StepFailedException {

    public BranchPointException(String message) {
        super(message);
    }
}
