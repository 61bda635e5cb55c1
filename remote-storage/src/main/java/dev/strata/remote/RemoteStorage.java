package dev.strata.remote;

import java.nio.file.Path;
import java.util.List;

/**
 * Object storage as Strata's services see it: whole immutable objects under string keys. The S3
 * implementation is {@link S3RemoteStorage}; {@link RetryingRemoteStorage} adds retries with
 * backoff around any implementation. Keys are built by {@link RemoteLayout} only.
 *
 * <p>Every method either does what it says or throws {@link RemoteStorageException}, whose
 * {@link RemoteStorageException.Kind} tells a caller whether trying again can help. Checksums:
 * {@link #upload} sends the file's CRC-32C (S3 verifies it and rejects a mismatch); the index
 * records size and CRC-32C of every layer, and {@link #download} callers verify both.
 */
public interface RemoteStorage extends AutoCloseable {

    /** One object of a listing. */
    record RemoteObject(String key, long size) {
    }

    /**
     * Uploads {@code file} as {@code key} (replacing an object of the same key). {@code crc32c} is
     * the file's CRC-32C as the caller computed it (and records in the index): the store checks
     * the bytes it receives against it and refuses the upload on a mismatch.
     */
    void upload(String key, Path file, int crc32c);

    /** Uploads {@code bytes} as {@code key} (replacing an object of the same key). */
    void put(String key, byte[] bytes);

    /** The whole object; {@link RemoteStorageException.Kind#NOT_FOUND} if there is none. */
    byte[] get(String key);

    /**
     * Writes the object to {@code target} (replaced if present; the caller writes to a temporary
     * name and renames after checking it). {@link RemoteStorageException.Kind#NOT_FOUND} if none.
     */
    void download(String key, Path target);

    /** Every object whose key starts with {@code prefix}, in key order. */
    List<RemoteObject> list(String prefix);

    /** Removes the object; removing an absent key is not an error (S3's rule). */
    void delete(String key);

    @Override
    void close();
}
