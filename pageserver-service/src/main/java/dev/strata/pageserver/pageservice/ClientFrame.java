package dev.strata.pageserver.pageservice;

/**
 * A frame a client sends: the {@link Authenticate} that opens every connection, then
 * {@link PageRequest}s, each naming the timeline it reads.
 */
public sealed interface ClientFrame permits ClientFrame.Authenticate, PageRequest {

    int requestId();

    /**
     * Presents a service token (scope {@code pageserverapi}, or {@code compute} for one
     * timeline). Must be the first frame of a connection, and only the first.
     */
    record Authenticate(int requestId, String token) implements ClientFrame {

        /** Never prints the token: it is a credential, and frames end up in logs and test reports. */
        @Override
        public String toString() {
            return "Authenticate[requestId=" + requestId + ", token=<" + (token == null ? 0 : token.length())
                    + " chars>]";
        }
    }
}
