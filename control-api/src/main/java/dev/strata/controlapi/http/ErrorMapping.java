package dev.strata.controlapi.http;

import dev.strata.control.metadata.MetadataException;
import dev.strata.controlapi.ApiException;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The API's errors as HTTP: an {@link ApiException} by its kind; the metadata store's refusals that
 * reach here (a race the pre-checks did not see) as 404 (gone) or 409 (someone else's conditional
 * write won), 503 when DynamoDB is unavailable; bad arguments (an invalid id or name) 400; anything
 * else 500, logged here where it is handled.
 */
@Requires(property = ControlApiServer.SERVICE_PROPERTY, value = ControlApiServer.SERVICE)
@Produces
@Singleton
final class ErrorMapping implements ExceptionHandler<RuntimeException, HttpResponse<Dto.Error>> {

    private static final Logger log = LoggerFactory.getLogger(ErrorMapping.class);

    @Override
    public HttpResponse<Dto.Error> handle(HttpRequest request, RuntimeException e) {
        int status;
        String code;
        switch (e) {
            case ApiException a -> {
                status = a.kind().status();
                code = a.kind().code();
            }
            case MetadataException.NotFound n -> {
                status = 404;
                code = "not_found";
            }
            case MetadataException.AlreadyExists x -> {
                status = 409;
                code = "conflict";
            }
            case MetadataException.VersionConflict x -> {
                status = 409;
                code = "conflict";
            }
            case MetadataException.IllegalTransition x -> {
                status = 409;
                code = "conflict";
            }
            case MetadataException.Unavailable x -> {
                status = 503;
                code = "unavailable";
            }
            case IllegalArgumentException x -> {
                status = 400;
                code = "bad_request";
            }
            default -> {
                status = 500;
                code = "internal";
            }
        }
        if (status >= 500) {
            log.error("{} {} failed", request.getMethod(), request.getPath(), e);
        }
        return HttpResponse.<Dto.Error>status(HttpStatus.valueOf(status)).contentType(MediaType.APPLICATION_JSON_TYPE)
                .body(new Dto.Error(code, String.valueOf(e.getMessage())));
    }
}
