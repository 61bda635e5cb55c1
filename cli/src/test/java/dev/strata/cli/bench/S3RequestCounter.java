package dev.strata.cli.bench;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.http.SdkHttpRequest;

/**
 * Counts the S3 requests of every AWS SDK client in this JVM (the pageserver's and the
 * safekeepers' when they run in process), by component (the key's first path element after the
 * bucket: {@code pageserver}, {@code safekeeper}) and operation, with the bytes sent and
 * received. Each HTTP attempt counts (retries are requests S3 bills). Registered as an SDK
 * global interceptor by the file {@code software/amazon/awssdk/global/handlers/execution.interceptors}
 * that bench/s3-ingest.sh puts on the classpath; never in the tests.
 */
public final class S3RequestCounter implements ExecutionInterceptor {

    /** Requests, bytes sent, bytes received. */
    public record Count(long requests, long bytesOut, long bytesIn) {
    }

    private static final Map<String, AtomicLong[]> COUNTS = new ConcurrentHashMap<>();
    private static volatile boolean installed;

    public S3RequestCounter() {
        installed = true;
    }

    /** Whether the SDK loaded this interceptor (the classpath file is there). */
    public static boolean installed() {
        return installed;
    }

    public static void reset() {
        COUNTS.clear();
    }

    /** "component operation" to its count, sorted. */
    public static Map<String, Count> snapshot() {
        Map<String, Count> out = new TreeMap<>();
        COUNTS.forEach((k, v) -> out.put(k, new Count(v[0].get(), v[1].get(), v[2].get())));
        return out;
    }

    @Override
    public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
        long out = context.requestBody().flatMap(b -> b.optionalContentLength()).orElse(0L);
        AtomicLong[] c = counts(context.httpRequest(), attributes);
        c[0].incrementAndGet();
        c[1].addAndGet(out);
    }

    @Override
    public void afterTransmission(Context.AfterTransmission context, ExecutionAttributes attributes) {
        long in = context.httpResponse().firstMatchingHeader("Content-Length").map(Long::parseLong).orElse(0L);
        counts(context.httpRequest(), attributes)[2].addAndGet(in);
    }

    private static AtomicLong[] counts(SdkHttpRequest request, ExecutionAttributes attributes) {
        String op = attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
        // A LIST names its keys in the prefix parameter, the others in the path.
        String where = request.encodedPath() + " " + String.join(" ",
                request.rawQueryParameters().getOrDefault("prefix", List.of()));
        String component = where.contains("pageserver/") ? "pageserver" : where.contains("safekeeper/")
                ? "safekeeper" : "other";
        return COUNTS.computeIfAbsent(component + " " + op,
                k -> new AtomicLong[] {new AtomicLong(), new AtomicLong(), new AtomicLong()});
    }
}
