package dev.strata.remote;

/**
 * A pageserver's remote storage settings (optional: without them it keeps history on local disk
 * only). {@code PageserverMain} reads them from {@code --remote-storage-*} options and
 * {@code --generation}; credentials only from the environment or the SDK's default chain.
 *
 * @param s3         where
 * @param generation this pageserver's attach generation (decision 0016)
 * @param retry      retries of transient failures per call
 */
public record RemoteStorageConfig(S3Config s3, Generation generation, RetryingRemoteStorage.Policy retry) {

    public RemoteStorageConfig {
        if (s3 == null || generation == null) {
            throw new IllegalArgumentException("remote storage needs S3 settings and a generation");
        }
        retry = retry == null ? RetryingRemoteStorage.Policy.DEFAULTS : retry;
    }

    /** The store these settings describe, with retries. */
    public RemoteStorage open() {
        return new RetryingRemoteStorage(new S3RemoteStorage(s3), retry);
    }
}
