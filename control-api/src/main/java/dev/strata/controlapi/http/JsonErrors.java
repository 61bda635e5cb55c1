package dev.strata.controlapi.http;

import io.micronaut.context.annotation.Primary;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.server.exceptions.response.Error;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;
import java.util.stream.Collectors;

/**
 * Gives the errors Micronaut produces itself (malformed JSON, unknown fields, wrong types, a missing
 * query parameter, a body over the size limit, an unknown path or method) the shape of
 * {@link ErrorMapping}'s, {@code {"error", "message"}}, with a code per status.
 */
@Requires(property = ControlApiServer.SERVICE_PROPERTY, value = ControlApiServer.SERVICE)
@Primary
@Singleton
final class JsonErrors implements ErrorResponseProcessor<Dto.Error> {

    @Override
    public MutableHttpResponse<Dto.Error> processResponse(ErrorContext context, MutableHttpResponse<?> base) {
        HttpStatus status = base.getStatus();
        String code = switch (status.getCode()) {
            case 400 -> "bad_request";
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 409 -> "conflict";
            case 413 -> "too_large";
            case 415 -> "unsupported_media_type";
            default -> status.getCode() >= 500 ? "internal" : "error";
        };
        String message = context.getErrors().stream().map(Error::getMessage).collect(Collectors.joining("; "));
        if (message.isEmpty()) {
            message = status.getReason();
        }
        if (message.length() > 1000) {
            message = message.substring(0, 1000) + "...";
        }
        return base.contentType(MediaType.APPLICATION_JSON_TYPE).body(new Dto.Error(code, message));
    }
}
