package dev.strata.pageserver.layer;

/**
 * A layer that is not on local disk could not be downloaded from object storage (S3 failing,
 * unreachable, or the object not matching its index). Transient for the request that needed
 * it: the layer stays remote and the next read tries the download again; the server keeps
 * serving everything else.
 */
public final class LayerDownloadException extends RuntimeException {

    public LayerDownloadException(String message, Throwable cause) {
        super(message, cause);
    }
}
