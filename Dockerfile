# Two images from one file (multi-stage):
#   docker build --target edge -t flexfleet-edge .         the agent and the device simulator,
#                                                          base dependencies only (paho, orjson, pymodbus)
#   docker build --target coordinator -t flexfleet-coordinator .   the service (web stack, solvers,
#                                                          ONNX runtime); also the default target
# docker-compose.yml uses both.

# The project as one wheel, built once for both images.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protocol protocol
COPY fleet_runtime fleet_runtime
COPY firmware_sim firmware_sim
COPY edge_agent edge_agent
COPY coordinator coordinator
COPY flexfleet flexfleet
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# What both images share: the interpreter and the command line as entry point.
FROM python:3.11-slim AS runtime
ENTRYPOINT ["flexfleet"]

FROM runtime AS edge
RUN --mount=type=bind,from=wheel,source=/wheels,target=/wheels \
    pip install --no-cache-dir "$(ls /wheels/flexfleet-*.whl)[edge]"
CMD ["agent", "--help"]

FROM runtime AS coordinator
RUN --mount=type=bind,from=wheel,source=/wheels,target=/wheels \
    pip install --no-cache-dir "$(ls /wheels/flexfleet-*.whl)[coordinator]"
CMD ["coordinator", "--help"]
