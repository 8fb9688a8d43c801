# One image for the coordinator and the edge agents.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY protocol protocol
COPY edge_agent edge_agent
COPY coordinator coordinator
COPY firmware_sim firmware_sim
COPY flexfleet flexfleet
RUN pip install --no-cache-dir .
ENTRYPOINT ["flexfleet"]
