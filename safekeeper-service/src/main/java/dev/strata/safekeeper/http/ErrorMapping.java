package dev.strata.safekeeper.http;

import io.micronaut.context.annotation.Requires;
import dev.strata.safekeeper.client.SafekeeperApiException;
import dev.strata.safekeeper.control.ControlFileException;
import dev.strata.safekeeper.election.TermRefusedException;
import dev.strata.safekeeper.node.TimelineExistsException;
import dev.strata.safekeeper.node.TimelineNotFoundException;
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
 * Maps the safekeeper's errors to HTTP statuses with a JSON body naming the problem:
 * bad input 400, unknown timeline 404, a refused term or an existing timeline 409, a damaged
 * control file 500, anything unexpected 500 (logged here, where it is handled).
 */
@Requires(property = "strata.service", value = "safekeeper")
@Produces
@Singleton
@Requires(classes = {RuntimeException.class, ExceptionHandler.class})
public final class ErrorMapping implements ExceptionHandler<RuntimeException, HttpResponse<Dto.Error>> {

    private static final Logger log = LoggerFactory.getLogger(ErrorMapping.class);

    @Override
    public HttpResponse<Dto.Error> handle(HttpRequest request, RuntimeException e) {
        HttpStatus status = switch (e) {
            case IllegalArgumentException x -> HttpStatus.BAD_REQUEST;
            case TimelineNotFoundException x -> HttpStatus.NOT_FOUND;
            case TermRefusedException x -> HttpStatus.CONFLICT;
            case TimelineExistsException x -> HttpStatus.CONFLICT;
            case SafekeeperApiException x -> HttpStatus.BAD_GATEWAY;
            case ControlFileException x -> HttpStatus.INTERNAL_SERVER_ERROR;
            default -> HttpStatus.INTERNAL_SERVER_ERROR;
        };
        if (status == HttpStatus.INTERNAL_SERVER_ERROR) {
            log.error("{} {} failed", request.getMethod(), request.getPath(), e);
        }
        String kind = status == HttpStatus.INTERNAL_SERVER_ERROR && !(e instanceof ControlFileException)
                ? "internal" : e.getClass().getSimpleName();
        return HttpResponse.<Dto.Error>status(status).body(new Dto.Error(kind, e.getMessage()));
    }
}
