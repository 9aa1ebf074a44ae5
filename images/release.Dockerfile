# Release images of the runtime and the global LB, for machines with registry access
# (`make images-release`). Air-gapped machines use `make images` instead, which builds
# the same binaries on the host and packs them FROM scratch.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/agent-runtime ./runtime/cmd/agent-runtime && \
    CGO_ENABLED=0 go build -trimpath -o /out/global-lb ./runtime/cmd/global-lb

FROM scratch AS agent-runtime
COPY --from=build /out/agent-runtime /agent-runtime
EXPOSE 8080
ENTRYPOINT ["/agent-runtime"]

FROM scratch AS global-lb
COPY --from=build /out/global-lb /global-lb
EXPOSE 8080
ENTRYPOINT ["/global-lb"]
