-- One database per service: each service owns its data and nothing else reads it.
CREATE DATABASE intake;
CREATE DATABASE logistics;
CREATE DATABASE distribution;
CREATE DATABASE notify;
