package dev.strata.remote;

import java.net.URI;
import java.time.Duration;

/**
 * Where a service (pageserver, safekeeper) keeps its objects in S3.
 *
 * @param endpoint  null for AWS itself (the region's endpoint); else an S3-compatible server,
 *                  e.g. {@code http://127.0.0.1:9000} for the embedded one (path-style requests)
 * @param region    the bucket's region ({@code us-east-1} for local servers)
 * @param bucket    the bucket; it must exist
 * @param prefix    every key starts with it ("" or a path ending in '/', e.g. {@code strata/prod/})
 * @param accessKey static credentials; null takes the SDK's default chain (environment, instance role)
 * @param secretKey with {@code accessKey}
 * @param requestTimeout bound of one HTTP attempt (a layer upload of up to 256 MiB included)
 */
public record S3Config(URI endpoint, String region, String bucket, String prefix, String accessKey, String secretKey,
                       Duration requestTimeout) {

    public S3Config {
        if (region == null || region.isBlank() || bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("S3 needs a region and a bucket");
        }
        prefix = prefix == null ? "" : prefix;
        if (!prefix.isEmpty() && (!prefix.endsWith("/") || prefix.startsWith("/"))) {
            throw new IllegalArgumentException("S3 key prefix must end with '/' and not start with one, got '" + prefix + "'");
        }
        if ((accessKey == null) != (secretKey == null)) {
            throw new IllegalArgumentException("give both the S3 access key and secret key, or neither");
        }
        if (requestTimeout == null) {
            requestTimeout = Duration.ofMinutes(2);
        }
    }

    /** An S3-compatible server on {@code endpoint} with static credentials (the embedded one, tests). */
    public static S3Config local(URI endpoint, String bucket, String accessKey, String secretKey) {
        return new S3Config(endpoint, "us-east-1", bucket, "", accessKey, secretKey, Duration.ofMinutes(2));
    }

    @Override
    public String toString() { // never the secret
        return "S3Config[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket + ", prefix=" + prefix
                + ", accessKey=" + (accessKey == null ? "(default chain)" : accessKey) + "]";
    }
}
