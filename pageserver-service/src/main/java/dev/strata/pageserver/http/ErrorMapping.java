package dev.strata.pageserver.http;

import io.micronaut.context.annotation.Requires;
import dev.strata.pageserver.timeline.StorageException;
import dev.strata.pageserver.timeline.TimelineException;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps the pageserver's errors to HTTP statuses with a JSON body {@code {"error", "message"}}:
 * a {@link TimelineException}'s kind decides (bad request 400, unknown timeline 404, exists
 * 409, WAL wait timeout 504, unavailable 503, unsupported 501), bad arguments 400, anything
 * else 500 (logged here, where it is handled).
 */
@Requires(property = "strata.service", value = "pageserver")
@Produces
@Singleton
@Requires(classes = {RuntimeException.class, ExceptionHandler.class})
public final class ErrorMapping implements ExceptionHandler<RuntimeException, HttpResponse<Dto.Error>> {

    private static final Logger log = LoggerFactory.getLogger(ErrorMapping.class);

    @Override
    public HttpResponse<Dto.Error> handle(HttpRequest request, RuntimeException e) {
        String kind;
        int status;
        switch (e) {
            case TimelineException t -> {
                kind = t.kind().name().toLowerCase(java.util.Locale.ROOT);
                status = t.kind().httpStatus();
            }
            case IllegalArgumentException x -> {
                kind = "bad_request";
                status = 400;
            }
            case StorageException s when s.category() == StorageException.Category.CONFLICT -> {
                kind = "conflict";
                status = 409;
            }
            // Object storage failed (an attach's index read, a layer download): worth a retry.
            case dev.strata.remote.RemoteStorageException r -> {
                kind = "unavailable";
                status = 503;
            }
            case dev.strata.pageserver.layer.LayerDownloadException d -> {
                kind = "unavailable";
                status = 503;
            }
            default -> {
                kind = "internal";
                status = 500;
            }
        }
        if (status == 500) {
            log.error("{} {} failed", request.getMethod(), request.getPath(), e);
        }
        return HttpResponse.<Dto.Error>status(HttpStatus.valueOf(status)).body(new Dto.Error(kind, e.getMessage()));
    }
}
