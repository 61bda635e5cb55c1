package dev.strata.controlapi.http;

import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.swagger.v3.oas.annotations.Hidden;

/** Serves the OpenAPI document generated at compile time ({@link ControlApiServer#OPENAPI_RESOURCE}). */
@Requires(property = ControlApiServer.SERVICE_PROPERTY, value = ControlApiServer.SERVICE)
@Controller("/v1")
@Hidden
public final class OpenApiController {

    @Get(value = "/openapi.yml", produces = "application/yaml")
    public HttpResponse<String> openApi() {
        return HttpResponse.ok(ControlApiServer.openApiDocument()).contentType(MediaType.of("application/yaml"));
    }
}
