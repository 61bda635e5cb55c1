package dev.strata.pageserver.timeline;

import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorage;

/**
 * Remote storage as a {@link TimelineManager} uses it: where objects go and the attach
 * generation this pageserver writes them under (decision 0016). Absent (null) when the
 * pageserver runs on local disk only.
 *
 * @param storage    the object store, with retries ({@code RetryingRemoteStorage})
 * @param generation this pageserver's attach generation; every key it writes carries it
 */
public record RemoteTimeline(RemoteStorage storage, Generation generation) {

    public RemoteTimeline {
        if (storage == null || generation == null) {
            throw new IllegalArgumentException("remote storage needs a store and a generation");
        }
    }
}
