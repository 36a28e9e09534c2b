# Build: docker build -t huanjie .   Run: see docker-compose.yml
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/huanjie ./cmd/huanjie

FROM alpine:3.22
RUN adduser -D -H -u 10001 huanjie && mkdir -p /data/photos && chown -R huanjie /data
COPY --from=build /out/huanjie /usr/local/bin/huanjie
USER huanjie
WORKDIR /data
ENV ADDR=:8080 DATA_FILE=/data/huanjie-data.json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD wget -qO- http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/huanjie"]
