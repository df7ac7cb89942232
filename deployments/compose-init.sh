#!/bin/bash
# The roles ansinh expects (scripts/db.sh makes the same ones), the database,
# and replication connections from the compose network. Development only.
set -e
psql -v ON_ERROR_STOP=1 -U postgres <<SQL
CREATE ROLE ansinh_owner LOGIN CREATEDB PASSWORD 'ansinh-dev-owner';
CREATE ROLE ansinh_app LOGIN PASSWORD 'ansinh-dev-app';
CREATE DATABASE ansinh OWNER ansinh_owner;
SQL
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
